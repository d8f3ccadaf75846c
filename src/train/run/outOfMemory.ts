/** Device-memory failures of a micro-batch, turned into advice the user can act on. */
import type { TrainOptions } from '../options.js';

const OOM = /out of memory|out-of-memory|OutOfMemory|maxBufferSize|allocation failed|failed to allocate/i;

/** Turns a device-memory failure into advice naming the batch shape that caused it. */
export function explainOutOfMemory(err: unknown, batch: { B: number; T: number }, options: TrainOptions): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (!OOM.test(message)) return err instanceof Error ? err : new Error(message);
  const halfB = Math.max(1, Math.floor(batch.B / 2));
  const keep = halfB < batch.B ? ` --batch-size ${halfB} --grad-accum ${options.gradAccum * 2} (the same effective batch),` : '';
  return new Error(
    `out of device memory on a micro-batch of shape [B=${batch.B}, T=${batch.T}] (${batch.B * batch.T} tokens).\n` +
      `Try${keep} or a smaller --max-length (now ${options.maxLength || 'the model\'s positions'}).\n` +
      `(device error: ${message})`,
  );
}
