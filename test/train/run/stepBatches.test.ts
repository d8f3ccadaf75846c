/** The micro-batches of a step: the step's window of the plan, the epoch's plan remade when the epoch changes. */
import { describe, expect, it } from 'vitest';
import { StepBatches } from '../../../src/train/run/stepBatches.js';
import { planEpoch, planTraining } from '../../../src/train/run/trainingPlan.js';
import { preparedData, runOptions } from './fixtures.js';

const data = preparedData(Array.from({ length: 23 }, (_, i) => 3 + (i % 6)));
const options = runOptions({ batchSize: 2, gradAccum: 3, epochs: 2, seed: 5 });
const plan = planTraining(data, options, 32);

/** The first token of each row of each batch: which examples a batch holds. */
function firstIds(batches: { inputIds: Int32Array; T: number; B: number }[]): number[][] {
  return batches.map((b) => Array.from({ length: b.B }, (_, r) => b.inputIds[r * b.T]!));
}

describe('StepBatches', () => {
  it('gives step s the gradAccum planned batches starting at (s mod stepsPerEpoch) * gradAccum, collated', () => {
    expect(plan.microBatchesPerEpoch).toBe(12);
    expect(plan.stepsPerEpoch).toBe(4);
    const batches = new StepBatches(data, plan, options, 1);
    const got = batches.of(1);
    expect(got.length).toBe(3);
    const want = plan.firstEpoch.slice(3, 6).map((b) => b.rows.map((row) => data.examples[row[0]!]!.inputIds[0]!));
    expect(firstIds(got)).toEqual(want);
  });

  it('uses the next epoch\'s plan once the step crosses into it, and the last window may be short', () => {
    const batches = new StepBatches(data, plan, options, 1);
    const second = planEpoch(data, options, 32, 1);
    expect(second).not.toEqual(plan.firstEpoch);
    expect(firstIds(batches.of(4))).toEqual(second.slice(0, 3).map((b) => b.rows.map((row) => data.examples[row[0]!]!.inputIds[0]!)));
    expect(batches.of(7).length).toBe(3);
    const odd = runOptions({ batchSize: 2, gradAccum: 5, seed: 5 });
    expect(new StepBatches(data, planTraining(data, odd, 32), odd, 1).of(2).length).toBe(2); // 12 micro-batches: 5, 5, 2
  });

  it('collates each planned row to its example, padded with the pad id', () => {
    const PAD = 999;
    const batches = new StepBatches(data, plan, options, PAD);
    let padded = 0;
    for (let step = 0; step < plan.stepsPerEpoch; step++) {
      const window = plan.firstEpoch.slice(step * 3, step * 3 + 3);
      for (const [k, b] of batches.of(step).entries()) {
        for (let r = 0; r < b.B; r++) {
          const row = Array.from(b.inputIds.subarray(r * b.T, (r + 1) * b.T));
          const example = data.examples[window[k]!.rows[r]![0]!]!;
          expect(row.filter((id) => id !== PAD)).toEqual(Array.from(example.inputIds));
          padded += row.length - example.inputIds.length;
        }
      }
    }
    expect(padded).toBeGreaterThan(0);
  });
});
