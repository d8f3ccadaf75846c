/** The stop on a non-finite loss or gradient norm, and what its message tells the user. */
import { describe, expect, it } from 'vitest';
import { nonFiniteStop, TrainingStopped } from '../../../src/train/run/nonFiniteStop.js';

describe('nonFiniteStop', () => {
  it('lets finite steps through', () => {
    expect(nonFiniteStop(3, 2.5, 0.7, null)).toBeNull();
    expect(nonFiniteStop(3, 0, 0, 'out/checkpoint-2')).toBeNull();
  });

  it('stops on a NaN or infinite loss, naming the step and the checkpoint to resume from', () => {
    const stop = nonFiniteStop(7, Number.NaN, 1, 'out/checkpoint-5');
    expect(stop).toBeInstanceOf(TrainingStopped);
    expect(stop!.message).toContain('stopped at step 7: the loss is NaN');
    expect(stop!.message).toContain('--resume out/checkpoint-5');
    expect(nonFiniteStop(1, Number.POSITIVE_INFINITY, 1, null)!.message).toContain('the loss is Infinity');
  });

  it('stops on a non-finite gradient norm with a finite loss, and says when nothing was saved', () => {
    const stop = nonFiniteStop(2, 1.25, Number.NaN, null)!;
    expect(stop.message).toContain('the gradient norm is NaN');
    expect(stop.message).toContain('No checkpoint was written before it.');
  });
});
