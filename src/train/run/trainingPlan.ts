/**
 * The plan of a run: how many optimizer steps it takes and the learning-rate schedule over them,
 * derived from the data and the options alone, so that a resumed run can check it plans the same
 * run, and the trainer state that records a position in it.
 */
import { join } from 'node:path';
import { TRAINER_STATE_FILE } from '../checkpoints.js';
import { planBatches, type PlannedBatch } from '../data/batches.js';
import type { PreparedData } from '../data/prepare.js';
import { resolveWarmupSteps, type ScheduleOptions } from '../optimizer/schedule.js';
import type { TrainOptions } from '../options.js';
import { dataFingerprint, dropoutSeed, epochSeed, type TrainerState } from '../trainerState.js';

export interface TrainingPlan {
  /** The longest example in tokens. */
  maxTokens: number;
  /** Epoch 0's micro-batches (every epoch has as many). */
  firstEpoch: PlannedBatch[];
  microBatchesPerEpoch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  schedule: ScheduleOptions;
  /** dataFingerprint of the examples the plan was made from. */
  fingerprint: string;
}

/** The plan of epoch `epoch` (plans depend only on the data and the seed, so re-planning is exact). */
export function planEpoch(data: PreparedData, options: TrainOptions, maxTokens: number, epoch: number): PlannedBatch[] {
  return planBatches(
    data.examples.map((e) => e.inputIds.length),
    { batchSize: options.batchSize, seed: epochSeed(options.seed, epoch), maxTokens, packing: options.packing },
  );
}

export function planTraining(data: PreparedData, options: TrainOptions, maxTokens: number): TrainingPlan {
  const firstEpoch = planEpoch(data, options, maxTokens, 0);
  const microBatchesPerEpoch = firstEpoch.length;
  const stepsPerEpoch = Math.ceil(microBatchesPerEpoch / options.gradAccum);
  const totalSteps = options.maxSteps > 0 ? options.maxSteps : stepsPerEpoch * options.epochs;
  const schedule: ScheduleOptions = {
    kind: options.schedule,
    lr: options.lr,
    warmupSteps: resolveWarmupSteps(totalSteps, options.warmupSteps, options.warmupRatio),
    totalSteps,
  };
  return { maxTokens, firstEpoch, microBatchesPerEpoch, stepsPerEpoch, totalSteps, schedule, fingerprint: dataFingerprint(data.examples) };
}

/** Refuses to resume a checkpoint made from other data or planned to another length. */
export function checkResumeMatches(resume: { dir: string; state: TrainerState }, plan: TrainingPlan): void {
  if (resume.state.data.fingerprint !== plan.fingerprint) {
    throw new Error(`--resume: the training data differs from the checkpoint's (fingerprint ${plan.fingerprint}, checkpoint ${resume.state.data.fingerprint})`);
  }
  if (resume.state.totalSteps !== plan.totalSteps || resume.state.stepsPerEpoch !== plan.stepsPerEpoch) {
    throw new Error(
      `--resume: ${join(resume.dir, TRAINER_STATE_FILE)} plans ${resume.state.totalSteps} steps of ${resume.state.stepsPerEpoch} per epoch, ` +
        `but this data and these options give ${plan.totalSteps} of ${plan.stepsPerEpoch}`,
    );
  }
}

export function describePlan(plan: TrainingPlan, options: TrainOptions): string {
  return (
    `kiln: ${plan.totalSteps} optimizer steps (${plan.microBatchesPerEpoch} micro-batches of ${options.batchSize} per epoch, ` +
    `${options.gradAccum} per step), lr ${options.lr} ${plan.schedule.kind} with ${plan.schedule.warmupSteps} warmup steps`
  );
}

/** The trainer state after `step` optimizer steps: where the next step starts in the plan. */
export function trainerStateAt(
  plan: TrainingPlan,
  data: PreparedData,
  options: TrainOptions,
  at: { step: number; elapsedSeconds: number; tokensSeen: number },
): TrainerState {
  const epoch = Math.floor(at.step / plan.stepsPerEpoch);
  const micro = (at.step % plan.stepsPerEpoch) * options.gradAccum;
  return {
    format: 'kiln-trainer-state',
    version: 1,
    step: at.step,
    totalSteps: plan.totalSteps,
    microBatchesPerEpoch: plan.microBatchesPerEpoch,
    stepsPerEpoch: plan.stepsPerEpoch,
    cursor: { epoch, microBatch: micro },
    schedule: plan.schedule,
    rng: { seed: options.seed, epochSeed: epochSeed(options.seed, epoch), nextDropoutSeed: dropoutSeed(options.seed, at.step, 0) },
    data: { examples: data.examples.length, tokens: data.report.tokens, targetTokens: data.report.targetTokens, fingerprint: plan.fingerprint },
    elapsedSeconds: at.elapsedSeconds,
    tokensSeen: at.tokensSeen,
    options: { ...options, resume: null, overwrite: false },
  };
}
