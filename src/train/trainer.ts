/**
 * The training loop. One optimizer step = one accumulation window of `gradAccum` micro-batches:
 *
 *   zero grads → forward and backward of each micro-batch, normalised by the window's target count
 *   (accumulation.ts) → clip (global norm, on the GPU) → AdamW → one readback (loss, norm),
 *   awaited once the next step is submitted.
 *
 * The data order, the dropout seeds and the learning rate are pure functions of (seed, step), and
 * the weights and moments are saved exactly, so a run resumed from a checkpoint computes the same
 * losses, step for step, as one that was never interrupted. Each step of a run lives in run/.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Gpu } from '../kernels/runtime/device.js';
import { type AnyCausalLM, AutoModelForCausalLM } from '../model/autoModel.js';
import { Tokenizer } from '../model/tokenizer/tokenizer.js';
import { shiftedTargetCount } from './accumulation.js';
import { writeFileDurable } from './checkpoints.js';
import { DATA_REPORT_FILE } from './data/dataReport.js';
import type { PreparedData } from './data/prepare.js';
import { writeLossCurve } from './lossCurve.js';
import { MetricsLog, type StepMetrics } from './metrics.js';
import { claimRunDirectory } from './runDirectory.js';
import type { TrainOptions } from './options.js';
import { Progress } from './progress.js';
import { learningRate } from './optimizer/schedule.js';
import type { TrainerState } from './trainerState.js';
import { nonFiniteStop } from './run/nonFiniteStop.js';
import { Optimization } from './run/optimization.js';
import { loadTrainingData, readRunInputs, type RunInputs } from './run/runInputs.js';
import { RunTally } from './run/runTally.js';
import { saveRunCheckpoint } from './run/saveRun.js';
import { StepBatches } from './run/stepBatches.js';
import { formatSummary, summarizeRun, type TrainSummary } from './run/summary.js';
import { checkResumeMatches, describePlan, planTraining, trainerStateAt, type TrainingPlan } from './run/trainingPlan.js';

export { explainOutOfMemory } from './run/outOfMemory.js';
export { TrainingStopped } from './run/nonFiniteStop.js';
export { formatSummary, type TrainSummary } from './run/summary.js';

export interface TrainIo {
  gpu: Gpu;
  /** Messages for the user (data report, checkpoints, summary). */
  log: (line: string) => void;
  /** Where the progress bar goes (stderr in the CLI). */
  progressStream?: NodeJS.WriteStream;
}

export interface ResumePoint {
  dir: string;
  state: TrainerState;
}

export async function train(options: TrainOptions, io: TrainIo, resume: ResumePoint | null): Promise<TrainSummary> {
  const { gpu, log } = io;
  claimRunDirectory(options.out, resume ? { dir: resume.dir, step: resume.state.step } : null, options.overwrite);
  const source = resume?.dir ?? options.model;
  log(`kiln: loading ${source}${resume ? ` (resuming at step ${resume.state.step})` : ''}`);
  const model = await AutoModelForCausalLM.fromPretrained(source, { gpu });
  try {
    return await trainModel(model, await Tokenizer.fromPretrained(source), options, io, resume);
  } finally {
    model.dispose();
  }
}

async function trainModel(model: AnyCausalLM, tokenizer: Tokenizer, options: TrainOptions, io: TrainIo, resume: ResumePoint | null): Promise<TrainSummary> {
  const { gpu, log } = io;
  const inputs = readRunInputs(options, model.maxPositions);
  const data = await loadTrainingData(model, tokenizer, options, inputs, log);
  const plan = planTraining(data, options, inputs.maxTokens);
  if (resume) checkResumeMatches(resume, plan);
  const optimization = Optimization.create(gpu, model, options, resume?.dir ?? null);
  mkdirSync(options.out, { recursive: true });
  writeFileDurable(join(options.out, DATA_REPORT_FILE), `${JSON.stringify(data.report, null, 2)}\n`);
  const metrics = MetricsLog.open(join(options.out, 'metrics.jsonl'), resume ? resume.state.step : null);
  const progress = new Progress(io.progressStream, options.logSteps);
  const tally = new RunTally(resume);

  log(describePlan(plan, options));
  model.train();
  try {
    await trainSteps({ gpu, model, tokenizer, options, inputs, data, plan, optimization, metrics, progress, tally });
  } finally {
    progress.finish();
    optimization.release();
  }
  const summary = summarizeRun(tally, plan.totalSteps, metrics.all(), gpu.pool.stats().peakBytes);
  log(formatSummary(summary, options));
  return summary;
}

interface RunningTraining {
  gpu: Gpu;
  model: AnyCausalLM;
  tokenizer: Tokenizer;
  options: TrainOptions;
  inputs: RunInputs;
  data: PreparedData;
  plan: TrainingPlan;
  optimization: Optimization;
  metrics: MetricsLog;
  progress: Progress;
  tally: RunTally;
}

/** A step submitted to the device whose loss and gradient norm are not read back yet. */
interface SubmittedStep {
  tokens: number;
  targets: number;
  lr: number;
  result: Promise<{ loss: number; gradNorm: number }>;
}

/**
 * Optimizer steps from the tally's step to the plan's end: metrics and progress each step, the
 * non-finite stop, checkpoints. One step stays in flight: step N+1 is encoded and submitted before
 * step N's loss is awaited, so the host's work overlaps the device's (docs/lavapipe-speed.md). A
 * step whose end is saved is read back, and saved, before the next one changes the weights.
 */
async function trainSteps(run: RunningTraining): Promise<void> {
  const { options, plan, tally } = run;
  const stepBatches = new StepBatches(run.data, plan, options, run.tokenizer.padId);
  let inFlight: SubmittedStep | null = null;
  let queued: SubmittedStep | null = null;
  let lastDone = performance.now();
  try {
    while (inFlight !== null || tally.step < plan.totalSteps) {
      // The step count once the step in flight is done, which is the index of the next to submit.
      const next: number = tally.step + (inFlight === null ? 0 : 1);
      if (next < plan.totalSteps && !(inFlight !== null && savesAt(next, options, plan))) queued = submitStep(run, stepBatches, next);
      if (inFlight !== null) {
        const { loss, gradNorm } = await inFlight.result;
        const seconds = (performance.now() - lastDone) / 1000;
        lastDone = performance.now();
        await finishStep(run, inFlight, loss, gradNorm, seconds);
      }
      [inFlight, queued] = [queued, null];
    }
  } finally {
    // Steps still on the device when the run stops (a non-finite loss, an error) are waited for,
    // so that nothing reads the device after the caller releases it; their results no longer matter.
    for (const pending of [inFlight, queued]) if (pending !== null) await pending.result.catch(() => undefined);
  }
}

/** Whether the run saves a checkpoint once `step` steps are done. */
function savesAt(step: number, options: TrainOptions, plan: TrainingPlan): boolean {
  return (options.saveSteps > 0 && step % options.saveSteps === 0) || step === plan.totalSteps;
}

function submitStep(run: RunningTraining, stepBatches: StepBatches, step: number): SubmittedStep {
  const batches = stepBatches.of(step);
  const lr = learningRate(run.plan.schedule, step);
  const result = run.optimization.submit(run.model, batches, { step, lr, options: run.options });
  // It may fail while the loop still awaits the step before it; the loop meets the error when it
  // awaits this one, so it is not an unhandled rejection meanwhile.
  result.catch(() => undefined);
  return { tokens: batches.reduce((n, b) => n + b.tokens, 0), targets: batches.reduce((n, b) => n + shiftedTargetCount(b), 0), lr, result };
}

/** Records a step read back: the tally, metrics and progress, the non-finite stop, a checkpoint when due. */
async function finishStep(run: RunningTraining, done: SubmittedStep, loss: number, gradNorm: number, seconds: number): Promise<void> {
  const { options, plan, tally, metrics, progress } = run;
  const { tokens, targets, lr } = done;
  tally.stepDone(tokens);
  const step = tally.step;
  const elapsedThisRun = tally.elapsedThisRun();
  const m: StepMetrics = {
    step,
    epoch: step / plan.stepsPerEpoch,
    loss,
    lr,
    gradNorm,
    tokens,
    targetTokens: targets,
    tokensPerSecond: tokens / seconds,
    elapsedSeconds: tally.elapsedBefore + elapsedThisRun,
  };
  metrics.append(m);
  progress.update({ step, totalSteps: plan.totalSteps, loss, lr, tokensPerSecond: tally.tokensThisRun / elapsedThisRun, elapsedSeconds: elapsedThisRun, stepsThisRun: tally.stepsThisRun });

  const stop = nonFiniteStop(step, loss, gradNorm, tally.lastSaved);
  if (stop) {
    progress.finish();
    writeLossCurve(join(options.out, 'loss.png'), metrics.all());
    throw stop;
  }
  if (savesAt(step, options, plan)) {
    const state = trainerStateAt(plan, run.data, options, { step, elapsedSeconds: tally.elapsedSeconds(), tokensSeen: tally.tokensSeen });
    tally.lastSaved = await saveRunCheckpoint({ ...run, optimizer: run.optimization.optimizer }, state);
  }
}
