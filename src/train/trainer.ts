/**
 * The training loop. One optimizer step = one accumulation window of `gradAccum` micro-batches:
 *
 *   zero grads → forward and backward of each micro-batch, normalised by the window's target count
 *   (accumulation.ts) → clip (global norm, on the GPU) → AdamW → one readback (loss, norm).
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

/** Optimizer steps from the tally's step to the plan's end: metrics and progress each step, the non-finite stop, checkpoints. */
async function trainSteps(run: RunningTraining): Promise<void> {
  const { options, plan, tally, metrics, progress } = run;
  const stepBatches = new StepBatches(run.data, plan, options, run.tokenizer.padId);
  while (tally.step < plan.totalSteps) {
    const batches = stepBatches.of(tally.step);
    const targets = batches.reduce((n, b) => n + shiftedTargetCount(b), 0);
    const tokens = batches.reduce((n, b) => n + b.tokens, 0);
    const lr = learningRate(plan.schedule, tally.step);
    const t0 = performance.now();
    const { loss, gradNorm } = await run.optimization.step(run.model, batches, { step: tally.step, lr, options });
    const seconds = (performance.now() - t0) / 1000;

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
    if ((options.saveSteps > 0 && step % options.saveSteps === 0) || step === plan.totalSteps) {
      const state = trainerStateAt(plan, run.data, options, { step, elapsedSeconds: tally.elapsedSeconds(), tokensSeen: tally.tokensSeen });
      tally.lastSaved = await saveRunCheckpoint({ ...run, optimizer: run.optimization.optimizer }, state);
    }
  }
}
