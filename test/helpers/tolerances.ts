/**
 * Tolerances against the float64 reference, in one place. An element passes when
 * |got - want| <= atol + rtol·|want|, with `atol` scaled by the magnitude of the output (the
 * largest |want|), because float32 kernels that sum K terms err relative to the terms' size,
 * not to each result's: a sum that cancels to ~0 still carries the rounding of its big terms.
 */
export interface Tolerance {
  rtol: number;
  /** Absolute error allowed per unit of max|reference|. */
  atolScaled: number;
}

export const TOLERANCE = {
  /** f32 arithmetic with f32 accumulation over up to a few thousand terms. */
  f32: { rtol: 1e-4, atolScaled: 1e-5 },
  /** Reductions over long rows (softmax, layer norm over thousands of columns). */
  f32Reduction: { rtol: 2e-4, atolScaled: 5e-5 },
  /** f16 storage/inputs with f32 accumulation, compared with the f32 path. */
  f16: { rtol: 2e-2, atolScaled: 2e-3 },
  /** Finite differences in float64 of a float32 kernel: loose by construction. */
  finiteDifference: { rtol: 3e-2, atolScaled: 3e-3 },
  /** A whole f32 model against PyTorch's f32 run: logits, hidden states, loss (relative to max|ref|). */
  goldenLogits: { rtol: 0, atolScaled: 5e-5 },
  /** A whole model's parameter gradients against PyTorch's, per tensor relative to its max|ref|. */
  goldenGrad: { rtol: 0, atolScaled: 2e-4 },
} as const satisfies Record<string, Tolerance>;
