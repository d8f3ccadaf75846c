/**
 * The training loop. One optimizer step = one accumulation window of `gradAccum` micro-batches:
 *
 *   zero grads → forward and backward of each micro-batch, normalised by the window's target count
 *   (accumulation.ts) → clip (global norm, on the GPU) → AdamW → one readback (loss, norm).
 *
 * The data order, the dropout seeds and the learning rate are pure functions of (seed, step), and
 * the weights and moments are saved exactly, so a run resumed from a checkpoint computes the same
 * losses, step for step, as one that was never interrupted.
 */
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Gpu } from '../kernels/runtime/device.js';
import { type AnyCausalLM, AutoModelForCausalLM } from '../model/autoModel.js';
import { FITTING_POLICY_FILE, fittingPolicyFileText, parseFittingPolicy } from '../toolbench/fitting.js';
import { Tokenizer } from '../model/tokenizer/tokenizer.js';
import { hasFunctionsPlaceholder } from '../toolbench/promptTemplate.js';
import { accumulateGradients, shiftedTargetCount } from './accumulation.js';
import { AdamW } from './optimizer/adamw.js';
import { OPTIMIZER_FILE, PROMPT_TEMPLATE_FILE, TRAINER_STATE_FILE, pruneCheckpoints, writeCheckpoint, writeFileDurable } from './checkpoints.js';
import { GradClipper } from './optimizer/clip.js';
import { collateBatch, planBatches, type Batch, type PlannedBatch } from './data/batches.js';
import { DATA_REPORT_FILE, formatDataReport } from './data/dataReport.js';
import { fitChatExample } from './data/chatTemplateExamples.js';
import { prepareSftData, type PreparedData } from './data/prepare.js';
import { writeLossCurve } from './lossCurve.js';
import { MetricsLog, type StepMetrics } from './metrics.js';
import { claimRunDirectory } from './runDirectory.js';
import type { TrainOptions } from './options.js';
import { Progress, formatDuration } from './progress.js';
import { learningRate, resolveWarmupSteps, type ScheduleOptions } from './optimizer/schedule.js';
import { dataFingerprint, dropoutSeed, epochSeed, type TrainerState } from './trainerState.js';

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

export interface TrainSummary {
  steps: number;
  totalSteps: number;
  losses: number[];
  checkpoint: string;
  elapsedSeconds: number;
  tokensPerSecond: number;
  peakGpuBytes: number;
}

/** A run stopped on purpose (non-finite loss): the message says what happened and what survives. */
export class TrainingStopped extends Error {}

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

/**
 * How examples are rendered: OPT trains on ToolLLaMA's text; a model with its own chat template
 * trains on its template (chatTemplateExamples.ts). A Llama-family model without one is refused
 * rather than fed a text format it was never tuned on.
 */
function chatFit(model: AnyCausalLM, tokenizer: Tokenizer, log: (line: string) => void) {
  if (model.modelType === 'opt') return undefined;
  if (tokenizer.chatTemplate === null) {
    throw new Error(`a ${model.modelType} model trains on its chat template, and this tokenizer has none (tokenizer_config.json chat_template or chat_template.jinja)`);
  }
  log(`kiln: rendering the data through the ${model.modelType} tokenizer's chat template`);
  return (conv: Parameters<typeof fitChatExample>[1], o: Parameters<typeof fitChatExample>[2]) => fitChatExample(tokenizer, conv, o);
}

/** The plan of epoch `epoch` (plans depend only on the data and the seed, so re-planning is exact). */
function planEpoch(data: PreparedData, options: TrainOptions, maxTokens: number, epoch: number): PlannedBatch[] {
  return planBatches(
    data.examples.map((e) => e.inputIds.length),
    { batchSize: options.batchSize, seed: epochSeed(options.seed, epoch), maxTokens, packing: options.packing },
  );
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
  const positions = model.maxPositions;
  const maxTokens = options.maxLength || positions;
  if (maxTokens > positions) throw new Error(`--max-length ${maxTokens} exceeds the model's max_position_embeddings ${positions}`);
  const promptTemplate = options.promptTemplate ? readFileSync(options.promptTemplate, 'utf8') : null;
  const fitting = parseFittingPolicy(options.fitting ?? 'toolbench');
  if (promptTemplate !== null && !hasFunctionsPlaceholder(promptTemplate)) {
    throw new Error(`--prompt-template ${options.promptTemplate}: the template has no {functions} or {function_signatures} placeholder`);
  }

  const data = await prepareSftData({
    paths: options.data,
    tokenizer,
    lossOn: options.lossOn,
    maxTokens,
    overlong: options.overlong,
    onBadRecord: options.onBadRecord,
    fitting,
    fit: chatFit(model, tokenizer, log),
  });
  log(formatDataReport(data.report));
  if (data.examples.length === 0) throw new Error(`--data ${options.data.join(', ')}: no training examples left`);
  const fingerprint = dataFingerprint(data.examples);
  if (resume && resume.state.data.fingerprint !== fingerprint) {
    throw new Error(`--resume: the training data differs from the checkpoint's (fingerprint ${fingerprint}, checkpoint ${resume.state.data.fingerprint})`);
  }

  let plan = planEpoch(data, options, maxTokens, 0);
  let planEpochIndex = 0;
  const microBatchesPerEpoch = plan.length;
  const stepsPerEpoch = Math.ceil(microBatchesPerEpoch / options.gradAccum);
  const totalSteps = options.maxSteps > 0 ? options.maxSteps : stepsPerEpoch * options.epochs;
  if (resume && (resume.state.totalSteps !== totalSteps || resume.state.stepsPerEpoch !== stepsPerEpoch)) {
    throw new Error(
      `--resume: ${join(resume.dir, TRAINER_STATE_FILE)} plans ${resume.state.totalSteps} steps of ${resume.state.stepsPerEpoch} per epoch, ` +
        `but this data and these options give ${totalSteps} of ${stepsPerEpoch}`,
    );
  }
  const schedule: ScheduleOptions = {
    kind: options.schedule,
    lr: options.lr,
    warmupSteps: resolveWarmupSteps(totalSteps, options.warmupSteps, options.warmupRatio),
    totalSteps,
  };

  const params = model.namedParameters();
  const optimizer = new AdamW(gpu, params, {
    lr: options.lr,
    betas: [options.beta1, options.beta2],
    eps: options.eps,
    weightDecay: options.weightDecay,
  });
  if (resume) optimizer.loadState(join(resume.dir, OPTIMIZER_FILE));
  const clipper = new GradClipper(gpu, params.map(([, p]) => p), options.maxGradNorm > 0 ? options.maxGradNorm : null);
  const stepLoss = gpu.alloc(4, 'step-loss');
  mkdirSync(options.out, { recursive: true });
  writeFileDurable(join(options.out, DATA_REPORT_FILE), `${JSON.stringify(data.report, null, 2)}\n`);

  let step = resume?.state.step ?? 0;
  const elapsedBefore = resume?.state.elapsedSeconds ?? 0;
  let tokensSeen = resume?.state.tokensSeen ?? 0;
  const metrics = MetricsLog.open(join(options.out, 'metrics.jsonl'), resume ? step : null);
  const progress = new Progress(io.progressStream, options.logSteps);
  const runStart = performance.now();
  let stepsThisRun = 0;
  let tokensThisRun = 0;
  let lastSaved = resume ? resume.dir : null;

  const stateAt = (s: number): TrainerState => {
    const epoch = Math.floor(s / stepsPerEpoch);
    const micro = (s % stepsPerEpoch) * options.gradAccum;
    return {
      format: 'kiln-trainer-state',
      version: 1,
      step: s,
      totalSteps,
      microBatchesPerEpoch,
      stepsPerEpoch,
      cursor: { epoch, microBatch: micro },
      schedule,
      rng: { seed: options.seed, epochSeed: epochSeed(options.seed, epoch), nextDropoutSeed: dropoutSeed(options.seed, s, 0) },
      data: { examples: data.examples.length, tokens: data.report.tokens, targetTokens: data.report.targetTokens, fingerprint },
      elapsedSeconds: elapsedBefore + (performance.now() - runStart) / 1000,
      tokensSeen,
      options: { ...options, resume: null, overwrite: false },
    };
  };

  const save = async (): Promise<void> => {
    const state = stateAt(step);
    const dir = await writeCheckpoint(options.out, step, async (tmp) => {
      await model.save(tmp, {
        tokenizer,
        extraFiles: {
          ...(promptTemplate === null ? {} : { [PROMPT_TEMPLATE_FILE]: promptTemplate }),
          [FITTING_POLICY_FILE]: fittingPolicyFileText(fitting),
        },
      });
      await optimizer.saveState(join(tmp, OPTIMIZER_FILE));
      writeFileDurable(join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    });
    pruneCheckpoints(options.out, options.saveTotalLimit, step);
    writeLossCurve(join(options.out, 'loss.png'), metrics.all());
    progress.log(`kiln: saved ${dir}`);
    lastSaved = dir;
  };

  log(
    `kiln: ${totalSteps} optimizer steps (${microBatchesPerEpoch} micro-batches of ${options.batchSize} per epoch, ` +
      `${options.gradAccum} per step), lr ${options.lr} ${schedule.kind} with ${schedule.warmupSteps} warmup steps`,
  );
  model.train();
  try {
    while (step < totalSteps) {
      const epoch = Math.floor(step / stepsPerEpoch);
      if (epoch !== planEpochIndex) {
        plan = planEpoch(data, options, maxTokens, epoch);
        planEpochIndex = epoch;
      }
      const first = (step % stepsPerEpoch) * options.gradAccum;
      const batches: Batch[] = plan
        .slice(first, first + options.gradAccum)
        .map((b) => collateBatch(b.rows.map((row) => row.map((i) => data.examples[i]!)), { padId: tokenizer.padId, maxTokens, packing: options.packing }));
      const targets = batches.reduce((n, b) => n + shiftedTargetCount(b), 0);
      const tokens = batches.reduce((n, b) => n + b.tokens, 0);
      const lr = learningRate(schedule, step);
      const t0 = performance.now();

      optimizer.zeroGrad();
      accumulateGradients(gpu, model, batches, {
        seed: options.seed,
        step,
        loss: stepLoss,
        onError: (err, batch) => explainOutOfMemory(err, batch, options),
      });
      clipper.clip();
      optimizer.step({ lr, gradScale: clipper.coefficient });
      gpu.flush();
      const [lossValue] = await gpu.readF32(stepLoss, 0, 1);
      const gradNorm = await clipper.norm();
      const seconds = (performance.now() - t0) / 1000;

      step++;
      stepsThisRun++;
      tokensSeen += tokens;
      tokensThisRun += tokens;
      const elapsedThisRun = (performance.now() - runStart) / 1000;
      const m: StepMetrics = {
        step,
        epoch: step / stepsPerEpoch,
        loss: lossValue!,
        lr,
        gradNorm,
        tokens,
        targetTokens: targets,
        tokensPerSecond: tokens / seconds,
        elapsedSeconds: elapsedBefore + elapsedThisRun,
      };
      metrics.append(m);
      progress.update({
        step,
        totalSteps,
        loss: m.loss,
        lr,
        tokensPerSecond: tokensThisRun / elapsedThisRun,
        elapsedSeconds: elapsedThisRun,
        stepsThisRun,
      });

      if (!Number.isFinite(m.loss) || !Number.isFinite(gradNorm)) {
        progress.finish();
        writeLossCurve(join(options.out, 'loss.png'), metrics.all());
        const what = Number.isFinite(m.loss) ? `the gradient norm is ${gradNorm}` : `the loss is ${m.loss}`;
        throw new TrainingStopped(
          `kiln: stopped at step ${step}: ${what}. The weights after this step are not saved.\n` +
            (lastSaved ? `The last good checkpoint is ${lastSaved} (continue with --resume ${lastSaved}).\n` : 'No checkpoint was written before it.\n') +
            'Try a lower --lr, warmup (--warmup-steps), or check the data of this step.',
        );
      }
      if ((options.saveSteps > 0 && step % options.saveSteps === 0) || step === totalSteps) await save();
    }
  } finally {
    progress.finish();
    gpu.release(stepLoss);
    clipper.release();
    optimizer.release();
  }

  const all = metrics.all();
  const elapsed = elapsedBefore + (performance.now() - runStart) / 1000;
  const summary: TrainSummary = {
    steps: step,
    totalSteps,
    losses: all.map((m) => m.loss),
    checkpoint: lastSaved!,
    elapsedSeconds: elapsed,
    tokensPerSecond: tokensThisRun / Math.max(1e-9, (performance.now() - runStart) / 1000),
    peakGpuBytes: gpu.pool.stats().peakBytes,
  };
  log(formatSummary(summary, options));
  return summary;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function formatSummary(s: TrainSummary, options: TrainOptions): string {
  const k = Math.max(1, Math.min(10, Math.floor(s.losses.length / 4)));
  return [
    'kiln: training done',
    `  steps            ${s.steps}/${s.totalSteps}`,
    `  loss             ${mean(s.losses.slice(0, k)).toFixed(4)} (first ${k}) -> ${mean(s.losses.slice(-k)).toFixed(4)} (last ${k})`,
    `  time             ${formatDuration(s.elapsedSeconds)} (${s.tokensPerSecond.toFixed(1)} tok/s this run)`,
    `  peak GPU memory  ${(s.peakGpuBytes / 2 ** 20).toFixed(1)} MiB`,
    `  checkpoint       ${s.checkpoint}`,
    `  metrics          ${join(options.out, 'metrics.jsonl')}`,
    `  loss curve       ${join(options.out, 'loss.png')}`,
  ].join('\n');
}
