/**
 * `trainer_state.json`: everything besides the weights and the optimizer moments that a resumed run
 * needs to continue exactly where the interrupted one stopped. kiln's random streams are
 * counter-based (the data order of epoch e comes from (seed, e), dropout of micro-batch k of step
 * s from (seed, s, k)), so the RNG state is the seed plus the position, and the data cursor is the
 * step itself; both are written out in full so a person can read where the run stands.
 */
import { SeededRandom } from '../model/random.js';
import type { TokenizedExample } from './data/tokenizeExample.js';
import type { TrainOptions } from './options.js';
import type { ScheduleOptions } from './optimizer/schedule.js';

export interface TrainerState {
  format: 'kiln-trainer-state';
  version: 1;
  /** Optimizer steps done. */
  step: number;
  totalSteps: number;
  microBatchesPerEpoch: number;
  stepsPerEpoch: number;
  /** The data cursor: the next micro-batch to train on, as (epoch, index in that epoch's plan). */
  cursor: { epoch: number; microBatch: number };
  schedule: ScheduleOptions;
  rng: { seed: number; epochSeed: number; nextDropoutSeed: number };
  data: { examples: number; tokens: number; targetTokens: number; fingerprint: string };
  elapsedSeconds: number;
  tokensSeen: number;
  options: TrainOptions;
}

/** The seed of epoch `epoch`'s batch plan; epoch 0 uses the run's seed itself. */
export function epochSeed(seed: number, epoch: number): number {
  return (seed + Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/** The dropout seed of micro-batch `micro` of optimizer step `step` (both 0-based). */
export function dropoutSeed(seed: number, step: number, micro: number): number {
  return new SeededRandom((seed ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(micro + 1, 0xc2b2ae35)) >>> 0).nextUint32();
}

/**
 * FNV-1a over every example's ids and labels: a resumed run checks it to be sure it trains on the
 * same examples in the same order it planned from.
 */
export function dataFingerprint(examples: readonly TokenizedExample[]): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (v >>> 24), 0x01000193);
  };
  for (const ex of examples) {
    mix(ex.inputIds.length);
    for (const id of ex.inputIds) mix(id);
    for (const label of ex.labels) mix(label);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Checks the fields a resume relies on, naming the file and field on failure. */
export function parseTrainerState(value: unknown, path: string): TrainerState {
  const s = value as Partial<TrainerState>;
  if (typeof s !== 'object' || s === null || s.format !== 'kiln-trainer-state') throw new Error(`${path}: not a kiln trainer state ("format" is not "kiln-trainer-state")`);
  if (s.version !== 1) throw new Error(`${path}: unsupported "version" ${JSON.stringify(s.version)} (this kiln reads 1)`);
  const ints: (keyof TrainerState)[] = ['step', 'totalSteps', 'microBatchesPerEpoch', 'stepsPerEpoch'];
  for (const k of ints) {
    if (!Number.isInteger(s[k]) || (s[k] as number) < 0) throw new Error(`${path}: "${k}" must be a non-negative integer`);
  }
  if (s.step! > s.totalSteps!) throw new Error(`${path}: "step" ${s.step} is past "totalSteps" ${s.totalSteps}; the file is not from this run's plan`);
  for (const k of ['schedule', 'rng', 'data', 'options', 'cursor'] as const) {
    if (typeof s[k] !== 'object' || s[k] === null) throw new Error(`${path}: "${k}" is missing`);
  }
  return s as TrainerState;
}
