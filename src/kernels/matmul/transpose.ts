import type { Gpu } from '../runtime/device.js';
import { u32Params } from '../runtime/params.js';

// lavapipe runs a workgroup of its subgroup size (8) as one SIMD pass.
const TRANSPOSE_WG = 8;

/**
 * dst = srcᵀ per batch item: src [R, C] at `offset + z·stride`, dst [C, R] packed (item z at
 * z·R·C). matmul's 'subgroup-nt' variant uses it to bring operands into the 'nt' layout, where both
 * are read along K. Each invocation moves a 4x4 block (four vec4 loads, four vec4 stores); the
 * eight lanes of a workgroup take neighbouring column blocks, so their loads of one source row are
 * contiguous. Needs R, C, offset and stride to be multiples of 4.
 */
const transposeWgsl = /* wgsl */ `
struct P { R: u32, C: u32, off: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> S: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> D: array<vec4f>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${TRANSPOSE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let C4 = p.C / 4u;
  let R4 = p.R / 4u;
  let cb = wid.x * ${TRANSPOSE_WG}u + lane;
  if (cb >= C4) { return; }
  let rb = wid.y;
  let s = (p.off + wid.z * p.stride) / 4u + 4u * rb * C4 + cb;
  let r0 = S[s];
  let r1 = S[s + C4];
  let r2 = S[s + 2u * C4];
  let r3 = S[s + 3u * C4];
  let d = wid.z * C4 * p.R + 4u * cb * R4 + rb;
  D[d] = vec4f(r0.x, r1.x, r2.x, r3.x);
  D[d + R4] = vec4f(r0.y, r1.y, r2.y, r3.y);
  D[d + 2u * R4] = vec4f(r0.z, r1.z, r2.z, r3.z);
  D[d + 3u * R4] = vec4f(r0.w, r1.w, r2.w, r3.w);
}`;

export interface TransposeArgs {
  src: GPUBuffer;
  dst: GPUBuffer;
  R: number;
  C: number;
  batch: number;
  offset: number;
  stride: number;
}

/** Whether `transpose` takes these arguments on this device (alignment, grid and binding limits). */
export function canTranspose(gpu: Gpu, args: Omit<TransposeArgs, 'src' | 'dst'>): boolean {
  const { R, C, batch, offset, stride } = args;
  const maxGrid = gpu.limits.maxComputeWorkgroupsPerDimension;
  const maxBytes = gpu.limits.maxStorageBufferBindingSize;
  return (
    [R, C, offset, stride].every((x) => x % 4 === 0) &&
    R / 4 <= maxGrid &&
    batch <= maxGrid &&
    Math.ceil(C / 4 / TRANSPOSE_WG) <= maxGrid &&
    4 * batch * R * C <= maxBytes &&
    4 * (offset + (batch - 1) * stride + R * C) <= maxBytes
  );
}

/** dst = srcᵀ per batch item (see transposeWgsl); check `canTranspose` first. */
export function transpose(gpu: Gpu, args: TransposeArgs): void {
  const { src, dst, R, C, batch, offset, stride } = args;
  gpu.dispatch({
    kernel: `matmul-transpose(R=${R},C=${C},batch=${batch})`,
    pipeline: gpu.pipeline('matmul-transpose', transposeWgsl),
    bindings: [
      { buffer: src, size: 4 * (offset + (batch - 1) * stride + R * C) },
      { buffer: dst, size: 4 * batch * R * C },
    ],
    params: u32Params(R, C, offset, stride),
    workgroups: [Math.ceil(C / 4 / TRANSPOSE_WG), R / 4, batch],
  });
}
