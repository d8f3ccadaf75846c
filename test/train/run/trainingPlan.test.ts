/**
 * The plan of a run, made from the data and the options alone: step counts, the schedule, the
 * resume checks against a checkpoint's state, and the state recorded at a step.
 */
import { describe, expect, it } from 'vitest';
import { checkResumeMatches, planTraining, trainerStateAt } from '../../../src/train/run/trainingPlan.js';
import { preparedData, runOptions } from './fixtures.js';

const lengths = Array.from({ length: 37 }, (_, i) => 4 + (i % 9));

describe('planTraining', () => {
  it('counts micro-batches per epoch, steps per epoch (rounded up over gradAccum) and total steps over the epochs', () => {
    const plan = planTraining(preparedData(lengths), runOptions({ batchSize: 4, gradAccum: 3, epochs: 2 }), 64);
    expect(plan.microBatchesPerEpoch).toBe(10); // ceil(37 / 4)
    expect(plan.firstEpoch.length).toBe(10);
    expect(plan.stepsPerEpoch).toBe(4); // ceil(10 / 3)
    expect(plan.totalSteps).toBe(8);
    expect(plan.maxTokens).toBe(64);
  });

  it('--max-steps overrides the epochs, and the schedule spans the total with the resolved warmup', () => {
    const plan = planTraining(preparedData(lengths), runOptions({ batchSize: 4, maxSteps: 50, warmupRatio: 0.1, schedule: 'cosine', lr: 1e-3 }), 64);
    expect(plan.totalSteps).toBe(50);
    expect(plan.schedule).toEqual({ kind: 'cosine', lr: 1e-3, warmupSteps: 5, totalSteps: 50 });
  });

  it('the fingerprint follows the examples: same data, same print; one changed label, another', () => {
    const a = planTraining(preparedData(lengths), runOptions(), 64);
    expect(planTraining(preparedData(lengths), runOptions({ lr: 1 }), 64).fingerprint).toBe(a.fingerprint);
    const changed = preparedData(lengths);
    changed.examples[20]!.labels[2] = -100;
    expect(planTraining(changed, runOptions(), 64).fingerprint).not.toBe(a.fingerprint);
    const reordered = preparedData(lengths);
    reordered.examples.reverse();
    expect(planTraining(reordered, runOptions(), 64).fingerprint).not.toBe(a.fingerprint);
  });

  it('the same seed plans the same first epoch; another seed another order', () => {
    const a = planTraining(preparedData(lengths), runOptions({ seed: 1 }), 64).firstEpoch;
    expect(planTraining(preparedData(lengths), runOptions({ seed: 1 }), 64).firstEpoch).toEqual(a);
    expect(planTraining(preparedData(lengths), runOptions({ seed: 2 }), 64).firstEpoch).not.toEqual(a);
  });
});

describe('checkResumeMatches', () => {
  const data = preparedData(lengths);
  const options = runOptions({ batchSize: 4, gradAccum: 2 });
  const plan = planTraining(data, options, 64);
  const state = trainerStateAt(plan, data, options, { step: 3, elapsedSeconds: 1, tokensSeen: 100 });

  it('accepts the state of its own plan', () => {
    expect(() => checkResumeMatches({ dir: 'ckpt', state }, plan)).not.toThrow();
  });

  it('refuses other data, naming both fingerprints', () => {
    const other = preparedData(lengths.slice(1));
    expect(() => checkResumeMatches({ dir: 'ckpt', state }, planTraining(other, options, 64))).toThrow(`checkpoint ${plan.fingerprint}`);
  });

  it('refuses a plan of another length, naming the trainer state file', () => {
    const longer = planTraining(data, { ...options, epochs: 3 }, 64);
    expect(() => checkResumeMatches({ dir: 'ckpt', state }, longer)).toThrow(/ckpt\/trainer_state\.json plans 5 steps of 5 per epoch, but this data and these options give 15 of 5/);
  });
});

describe('trainerStateAt', () => {
  it('places the cursor at the step\'s window and drops the options a resume must not inherit', () => {
    const data = preparedData(lengths);
    const options = runOptions({ batchSize: 4, gradAccum: 3, epochs: 2, resume: 'x', overwrite: true, seed: 9 });
    const plan = planTraining(data, options, 64);
    const s = trainerStateAt(plan, data, options, { step: 6, elapsedSeconds: 12.5, tokensSeen: 999 });
    expect(s.cursor).toEqual({ epoch: 1, microBatch: 6 }); // 4 steps per epoch: step 6 is epoch 1's third window
    expect(s.step).toBe(6);
    expect(s.data).toEqual({ examples: 37, tokens: data.report.tokens, targetTokens: data.report.targetTokens, fingerprint: plan.fingerprint });
    expect([s.elapsedSeconds, s.tokensSeen]).toEqual([12.5, 999]);
    expect(s.options.resume).toBeNull();
    expect(s.options.overwrite).toBe(false);
    expect(s.rng.seed).toBe(9);
    expect(s.rng.epochSeed).not.toBe(trainerStateAt(plan, data, options, { step: 0, elapsedSeconds: 0, tokensSeen: 0 }).rng.epochSeed);
  });
});
