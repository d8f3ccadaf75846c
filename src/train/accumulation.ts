/**
 * Gradient accumulation over one optimizer step's window of micro-batches. Every micro-batch's loss
 * is its summed cross-entropy divided by the target count of the WHOLE window, so the gradients that
 * backward adds up are exactly those of one batch holding every row of the window, and the summed
 * losses are that batch's mean loss. Averaging per-micro-batch means instead (trl#2175) weights a
 * target in a micro-batch with few targets more than one in a micro-batch with many.
 */
import type { Gpu } from '../kernels/runtime/device.js';
import { accumulate } from '../kernels/elementwise.js';
import type { CausalLM } from '../model/causalLM.js';
import type { Batch } from './data/batches.js';
import { IGNORE_INDEX } from './data/tokenizeExample.js';
import { dropoutSeed } from './trainerState.js';

export interface WindowOptions {
  /** The run's seed and the optimizer step (0-based): they fix each micro-batch's dropout seed. */
  seed: number;
  step: number;
  /** f32 [1]: receives the window's loss (the sum of the micro-batch losses). */
  loss: GPUBuffer;
  /** Called when a micro-batch fails, to add context (e.g. the batch shape of an out-of-memory error). */
  onError?: (err: unknown, batch: Batch) => Error;
}

/** Labels that are predicted after the causal shift: every non-ignored label but those in column 0. */
export function shiftedTargetCount(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.labels.length; i++) if (i % batch.T !== 0 && batch.labels[i] !== IGNORE_INDEX) n++;
  return n;
}

/** Target tokens of the window: the denominator of every micro-batch's loss. Never 0 (0/0 would be NaN). */
export function windowTargets(batches: readonly Batch[]): number {
  return Math.max(1, batches.reduce((n, b) => n + shiftedTargetCount(b), 0));
}

/** Runs forward and backward on each micro-batch; gradients add into the parameters' `.grad`. */
export function accumulateGradients(gpu: Gpu, model: CausalLM, batches: readonly Batch[], o: WindowOptions): void {
  const denominator = windowTargets(batches);
  for (const [k, batch] of batches.entries()) {
    try {
      const shape = [batch.B, batch.T] as const;
      const { loss } = model.forward({
        inputIds: { data: batch.inputIds, shape },
        attentionMask: { data: Int32Array.from(batch.attentionMask), shape },
        labels: { data: batch.labels, shape },
        positionIds: batch.positionIds ? { data: batch.positionIds, shape } : undefined,
        segmentIds: batch.segmentIds ? { data: batch.segmentIds, shape } : undefined,
        lossDenominator: denominator,
        dropoutSeed: dropoutSeed(o.seed, o.step, k),
      });
      if (!loss) throw new Error('model.forward returned no loss although labels were given');
      if (k === 0) gpu.copy(loss.buffer, 0, o.loss, 0, 4);
      else accumulate(gpu, loss.buffer, o.loss, 1);
      loss.backward();
      loss.release();
      // One submit per micro-batch lets the GPU start while the next batch's inputs are prepared.
      gpu.flush();
    } catch (err) {
      throw o.onError ? o.onError(err, batch) : err;
    }
  }
}
