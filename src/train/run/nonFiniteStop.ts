/**
 * The stop on a non-finite loss or gradient norm: the weights after such a step are worthless, so
 * the run ends there with a message saying what happened and which checkpoint survives.
 */

/** A run stopped on purpose (non-finite loss): the message says what happened and what survives. */
export class TrainingStopped extends Error {}

/** The error that stops the run after optimizer step `step` (1-based), or null when loss and norm are finite. */
export function nonFiniteStop(step: number, loss: number, gradNorm: number, lastSaved: string | null): TrainingStopped | null {
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return null;
  const what = Number.isFinite(loss) ? `the gradient norm is ${gradNorm}` : `the loss is ${loss}`;
  return new TrainingStopped(
    `kiln: stopped at step ${step}: ${what}. The weights after this step are not saved.\n` +
      (lastSaved ? `The last good checkpoint is ${lastSaved} (continue with --resume ${lastSaved}).\n` : 'No checkpoint was written before it.\n') +
      'Try a lower --lr, warmup (--warmup-steps), or check the data of this step.',
  );
}
