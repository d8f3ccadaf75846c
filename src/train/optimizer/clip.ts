/**
 * Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_: the norm of all gradients
 * together, and the coefficient min(1, maxNorm / (norm + 1e-6)) that the optimizer multiplies every
 * gradient by. Both stay on the GPU: nothing here waits for the device, so a step is submitted
 * whole; the norm is read afterwards, when the step is logged. With clipping off (maxNorm null)
 * the norm is still measured, for the log and the non-finite guard.
 */
import type { Gpu } from '../../kernels/runtime/device.js';
import { clipCoefficient, sumOfSquares } from '../../kernels/reductions.js';

export interface GradientRef {
  grad: { buffer: GPUBuffer };
  size: number;
}

export class GradClipper {
  /** f32 [1]: Σ g² over every gradient, rewritten by each `clip`. */
  private readonly sumSq: GPUBuffer;
  private readonly coef: GPUBuffer | null;

  constructor(
    private readonly gpu: Gpu,
    private readonly params: readonly GradientRef[],
    private readonly maxNorm: number | null,
  ) {
    if (maxNorm !== null && !(maxNorm > 0)) throw new Error(`GradClipper: maxNorm must be > 0, got ${maxNorm}`);
    this.sumSq = gpu.alloc(4, 'clip-sum-of-squares');
    this.coef = maxNorm === null ? null : gpu.alloc(4, 'clip-coefficient');
  }

  /** f32 [1] for AdamW's `gradScale`: the clip coefficient, or undefined when clipping is off. */
  get coefficient(): GPUBuffer | undefined {
    return this.coef ?? undefined;
  }

  /** Queues the norm and the coefficient of the current gradients. */
  clip(): void {
    sumOfSquares(this.gpu, { tensors: this.params.map((p) => ({ buffer: p.grad.buffer, n: p.size })), out: this.sumSq });
    if (this.coef) clipCoefficient(this.gpu, { sumSq: this.sumSq, out: this.coef, maxNorm: this.maxNorm! });
  }

  /** The pre-clip global norm of the last `clip` (waits for the device). */
  async norm(): Promise<number> {
    const [sumSq] = await this.gpu.readF32(this.sumSq, 0, 1);
    return Math.sqrt(sumSq!);
  }

  release(): void {
    this.gpu.release(this.sumSq);
    if (this.coef) this.gpu.release(this.coef);
  }
}
