/**
 * The five stages of a reproduction, each a function of the run's context that returns what it
 * produced: download the weights, count the pre-flight, train, evaluate, write the table. Training
 * and evaluation run through their own commands (train.js and eval.js in-process), so a
 * reproduction is exactly what a user typing those commands would get.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEvalCli } from '../eval/cli/cli.js';
import { kilnContextWindow } from '../eval/policies/kiln.js';
import { loadQueries, PAPER_CATEGORIES } from '../eval/queries.js';
import { queryPreflight } from '../eval/queryPreflight.js';
import { writeFileAtomic } from '../eval/report/results.js';
import { readOptConfig } from '../model/opt/optConfig.js';
import { resolveModelFiles } from '../model/checkpoint/hub.js';
import { Tokenizer } from '../model/tokenizer/tokenizer.js';
import { parseFittingPolicy } from '../toolbench/fitting.js';
import { formatPreflight } from '../toolbench/preflight.js';
import { latestCheckpoint } from '../train/checkpoints.js';
import { runTrainCli } from '../train/cli.js';
import { prepareSftData } from '../train/data/prepare.js';
import { PAPER_PRESET } from '../train/options.js';
import type { ReproduceOptions } from './options.js';
import { MissingPrerequisites, type Prerequisites } from './prerequisites.js';
import { resultsMarkdown } from './study.js';

export interface StageContext {
  o: ReproduceOptions;
  pre: Prerequisites;
  settings: Record<string, unknown>;
  /** Lines for the user. */
  log: (line: string) => void;
  /** Standard streams for the train and eval commands run inside. */
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export const TEMPLATE_FILE = 'prompt_template.txt';
export const PREFLIGHT_FILE = 'preflight.txt';
export const RESULTS_TABLE_FILE = 'results.md';
const EVAL_NEW_TOKENS = 256;
// --preset paper's batch (options.ts PAPER_PRESET), split by --grad-accum.
const PAPER_BATCH = PAPER_PRESET.batchSize!;

/** The model's files: a local directory as is, a hub id downloaded into kiln's cache. */
export async function downloadStage(c: StageContext): Promise<string> {
  try {
    return (await resolveModelFiles(c.o.model)).dir;
  } catch (e) {
    throw new MissingPrerequisites([
      `the weights of ${c.o.model}: ${(e as Error).message}. Run again with network access to the Hugging Face hub ` +
        '(about 700 MB; $HF_ENDPOINT names a mirror), or pass --model <dir> holding config.json, model.safetensors ' +
        'or pytorch_model.bin, and the tokenizer files',
    ]);
  }
}

/** Both pre-flights, counted with the model's tokenizer before any GPU work; written and printed. */
export async function preflightStage(c: StageContext, modelDir: string): Promise<string> {
  const tokenizer = Tokenizer.fromDir(modelDir);
  const positions = readOptConfig(join(modelDir, 'config.json')).maxPositionEmbeddings;
  const fitting = parseFittingPolicy(c.o.fitting);
  const train = await prepareSftData({
    paths: [c.pre.data.train],
    tokenizer,
    maxTokens: c.o.maxLength ?? positions,
    overlong: 'drop',
    onBadRecord: 'skip',
    fitting,
    maxConversations: c.o.preflightSample,
  });
  const { queries } = loadQueries(c.pre.data.queries, {
    categories: PAPER_CATEGORIES,
    ...(c.o.limit !== null ? { limit: c.o.limit } : {}),
  });
  const window = kilnContextWindow(tokenizer, positions, c.o.maxNewTokens ?? EVAL_NEW_TOKENS);
  const sample = train.report.conversations < c.o.preflightSample ? 'all' : `the first ${c.o.preflightSample}`;
  const text = [
    `training data: ${sample} conversations of ${c.pre.data.train} (the trainer's report counts them all)`,
    formatPreflight(train.report.preflight),
    '',
    formatPreflight(queryPreflight(queries, c.pre.template, fitting, window)),
  ].join('\n');
  const all = train.report.preflight.rows.at(-1);
  if (all !== undefined && all.items > 0 && all.overflowBeforeFirstStep === all.items) {
    c.log(text);
    throw new Error(
      `no training example leaves room for a single target token in ${train.report.preflight.positions} positions ` +
        `with fitting policy ${c.o.fitting}; choose a shorter --fitting (docs/fitting.md lists what each makes fit)`,
    );
  }
  const path = join(c.o.out, PREFLIGHT_FILE);
  writeFileAtomic(path, `${text}\n`);
  return path;
}

/** Fine-tunes with --preset paper, resuming from the newest checkpoint when one exists. */
export async function trainStage(c: StageContext, modelDir: string): Promise<string> {
  const out = join(c.o.out, 'train');
  const templateFile = join(c.o.out, TEMPLATE_FILE);
  writeFileAtomic(templateFile, c.pre.template);
  const resume = existsSync(out) && latestCheckpoint(out) !== null;
  const argv = [
    '--model', modelDir, '--data', c.pre.data.train, '--out', out, '--preset', 'paper',
    '--fitting', c.o.fitting, '--prompt-template', templateFile,
    ...(c.o.gradAccum > 1 ? ['--batch-size', String(PAPER_BATCH / c.o.gradAccum), '--grad-accum', String(c.o.gradAccum)] : []),
    ...optional('--max-steps', c.o.maxSteps), ...optional('--max-length', c.o.maxLength), ...optional('--save-steps', c.o.saveSteps),
    ...(resume ? ['--resume'] : []),
  ];
  c.log(`kiln reproduce: ${resume ? 'resuming' : 'starting'} training: node train.js ${argv.join(' ')}`);
  const code = await runTrainCli(argv, {
    out: c.stdout,
    err: (text) => void c.stderr.write(text),
    progressStream: c.stderr as NodeJS.WriteStream,
  });
  const checkpoint = existsSync(out) ? latestCheckpoint(out) : null;
  if (code !== 0 || checkpoint === null) {
    throw new Error(`training stopped (exit ${code}); run the same command again to resume from the last checkpoint`);
  }
  return checkpoint;
}

/** Evaluates all six groups; the evaluation resumes from its stored results by itself. */
export async function evalStage(c: StageContext, checkpoint: string): Promise<string> {
  const out = join(c.o.out, 'eval');
  const argv = [
    '--model', checkpoint, '--queries', c.pre.data.queries, '--categories', PAPER_CATEGORIES.join(','), '--out', out,
    ...optional('--limit', c.o.limit), ...optional('--max-new-tokens', c.o.maxNewTokens), ...optional('--max-steps', c.o.evalSteps),
  ];
  c.log(`kiln reproduce: evaluating: node eval.js ${argv.join(' ')}`);
  const code = await runEvalCli(argv, { stdout: () => {}, stderr: c.stderr });
  if (code !== 0) throw new Error(`evaluation stopped (exit ${code}); run the same command again to resume it`);
  return out;
}

/** `<out>/results.md`: the evaluation's paper-layout table beside the study's numbers. */
export function tableStage(c: StageContext, checkpoint: string, evalDir: string): string {
  const markdown = resultsMarkdown({
    settings: c.settings,
    checkpoint,
    preflight: readFileSync(join(c.o.out, PREFLIGHT_FILE), 'utf8'),
    evalReport: readFileSync(join(evalDir, 'report.md'), 'utf8'),
  });
  const path = join(c.o.out, RESULTS_TABLE_FILE);
  writeFileAtomic(path, markdown);
  return path;
}

function optional(flag: string, value: number | null): string[] {
  return value === null ? [] : [flag, String(value)];
}
