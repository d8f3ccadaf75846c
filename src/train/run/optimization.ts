/**
 * What one optimizer step needs on the device (AdamW and its moments, the gradient clipper, the
 * buffer the window's loss adds into) and the step itself: zero grads → forward and backward of
 * each micro-batch → clip → AdamW → one readback of the loss and the gradient norm, which the
 * trainer awaits after submitting the next step.
 */
import { join } from 'node:path';
import type { Gpu } from '../../kernels/runtime/device.js';
import type { AnyCausalLM } from '../../model/autoModel.js';
import { accumulateGradients } from '../accumulation.js';
import { OPTIMIZER_FILE } from '../checkpoints.js';
import type { Batch } from '../data/batches.js';
import { AdamW } from '../optimizer/adamw.js';
import { GradClipper } from '../optimizer/clip.js';
import type { TrainOptions } from '../options.js';
import { explainOutOfMemory } from './outOfMemory.js';

export class Optimization {
  private constructor(
    private readonly gpu: Gpu,
    readonly optimizer: AdamW,
    private readonly clipper: GradClipper,
    private readonly stepLoss: GPUBuffer,
  ) {}

  /** AdamW over `model`'s parameters, with its moments read from `resumeDir` when resuming. */
  static create(gpu: Gpu, model: AnyCausalLM, options: TrainOptions, resumeDir: string | null): Optimization {
    const params = model.namedParameters();
    const optimizer = new AdamW(gpu, params, {
      lr: options.lr,
      betas: [options.beta1, options.beta2],
      eps: options.eps,
      weightDecay: options.weightDecay,
    });
    if (resumeDir !== null) optimizer.loadState(join(resumeDir, OPTIMIZER_FILE));
    const clipper = new GradClipper(gpu, params.map(([, p]) => p), options.maxGradNorm > 0 ? options.maxGradNorm : null);
    return new Optimization(gpu, optimizer, clipper, gpu.alloc(4, 'step-loss'));
  }

  /**
   * Encodes and submits one optimizer step over the window `batches`, and with it the copies of
   * the window's loss and the gradient norm before clipping; the promise resolves when the device
   * has run the step. The copies are queued before anything a later step submits, so the trainer
   * may submit the next step before awaiting this one: the host then prepares step N+1 while the
   * device runs step N.
   */
  submit(model: AnyCausalLM, batches: readonly Batch[], at: { step: number; lr: number; options: TrainOptions }): Promise<{ loss: number; gradNorm: number }> {
    const { gpu, optimizer, clipper, stepLoss } = this;
    optimizer.zeroGrad();
    accumulateGradients(gpu, model, batches, {
      seed: at.options.seed,
      step: at.step,
      loss: stepLoss,
      onError: (err, batch) => explainOutOfMemory(err, batch, at.options),
    });
    clipper.clip();
    optimizer.step({ lr: at.lr, gradScale: clipper.coefficient });
    gpu.flush();
    // Both reads encode their copies and submit now; only their mapping waits.
    const loss = gpu.readF32(stepLoss, 0, 1);
    const gradNorm = clipper.norm();
    return Promise.all([loss, gradNorm]).then(([[l], n]) => ({ loss: l!, gradNorm: n }));
  }

  release(): void {
    this.gpu.release(this.stepLoss);
    this.clipper.release();
    this.optimizer.release();
  }
}
