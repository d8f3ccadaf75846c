/** Which operand is stored transposed: 'nn' A[M,K]·B[K,N]; 'nt' A[M,K]·B[N,K]ᵀ; 'tn' A[K,M]ᵀ·B[K,N]. */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

/**
 * 'subgroup': one subgroup per workgroup sharing A through subgroupBroadcast (lavapipe's shape);
 * 'subgroup-nt': 'subgroup' after copying the operands into the 'nt' layout (see relayoutToNt);
 * 'tiled': register-blocked shared-memory tiles, needing no optional feature (discrete GPUs);
 * 'gemv': 'nt' with few rows of A (decoding: x·Wᵀ), each invocation streaming whole rows of B.
 */
export type MatmulVariant = 'subgroup' | 'subgroup-nt' | 'tiled' | 'gemv';

export interface MatmulArgs {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  M: number;
  N: number;
  K: number;
  layout?: MatmulLayout;
  /** Independent products, the z of the grid; operand i starts at offsetX + i·strideX. */
  batch?: number;
  /** Elements between batch items (default: the operand's size; 0 shares one operand across the batch). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Element offsets of batch item 0. */
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
  /** [N] added to every row of alpha·A·B, before relu. */
  bias?: GPUBuffer;
  relu?: boolean;
  /** C += result instead of C = result. */
  accumulate?: boolean;
  alpha?: number;
  /**
   * B's element type. 'f16': IEEE halves packed two per u32 (element 2i in the low half, as
   * casts.ts reads them), offsets and strides still in elements: inference weights at half the
   * bytes. 'gemv' reads them directly (f32 arithmetic); the other variants widen B into a
   * temporary f32 buffer first.
   */
  bDtype?: 'f32' | 'f16';
  /** Forces a variant (tests and the bench); by default picked from the adapter. */
  variant?: MatmulVariant;
}

// What a shader is compiled for: the layout, and whether every operand reads as vec4 (every row
// each operand steps through starts on a 16-byte boundary, true for all of OPT's shapes). One flag
// for all three keeps the pipelines per layout at two: each subgroup pipeline costs lavapipe
// seconds to compile. The epilogue is chosen at run time through `p.flags`: it runs once per
// element of C, so its branches cost nothing measurable, and compiling it in would multiply the
// pipelines by eight.
export interface MatmulShape {
  layout: MatmulLayout;
  vec: boolean;
}
