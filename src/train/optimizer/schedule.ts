/**
 * Learning-rate schedules, as transformers' `get_linear_schedule_with_warmup` and
 * `get_cosine_schedule_with_warmup` (num_cycles 0.5) define them. The Trainer steps the scheduler
 * after each optimizer step, so optimizer step k (counted from 0) uses the multiplier at k: with
 * no warmup the first step runs at the full learning rate.
 */
export type ScheduleKind = 'linear' | 'cosine' | 'constant';

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** The multiplier of the peak learning rate at optimizer step `step` (0-based). */
export function lrMultiplier(options: ScheduleOptions, step: number): number {
  const { kind, warmupSteps, totalSteps } = options;
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (kind === 'constant') return 1;
  const remaining = Math.max(1, totalSteps - warmupSteps);
  if (kind === 'linear') return Math.max(0, (totalSteps - step) / remaining);
  const progress = (step - warmupSteps) / remaining;
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The learning rate at optimizer step `step` (0-based). */
export function learningRate(options: ScheduleOptions, step: number): number {
  return options.lr * lrMultiplier(options, step);
}

/** Warmup in steps from either a step count or a ratio of the total (transformers' `warmup_ratio`, rounded up). */
export function resolveWarmupSteps(totalSteps: number, warmupSteps: number, warmupRatio: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}
