/**
 * The training command's options: flags, an optional JSON config file (`--config`), and
 * `--preset paper`. Precedence, lowest first: built-in defaults, the preset, the config file, the
 * command line. Defaults follow transformers' Trainer (AdamW lr 5e-5, betas 0.9/0.999, eps 1e-8,
 * linear schedule, clipping at 1.0, one epoch); `paper` pins the study's recipe as far as it is
 * known (TRL SFTTrainer defaults of the time: no warmup, no weight decay, batch 8, whole-text loss).
 */
import { readFileSync } from 'node:fs';
import { FITTING_SPEC_HELP, parseFittingPolicy } from '../toolbench/fitting.js';
import type { LossOn } from '../toolbench/render.js';
import type { OnBadRecord } from './data/validate.js';
import type { OverlongPolicy } from './data/overlong.js';
import type { ScheduleKind } from './optimizer/schedule.js';

export interface TrainOptions {
  model: string;
  data: string[];
  out: string;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  warmupRatio: number;
  /** 0 turns clipping off. */
  maxGradNorm: number;
  /** Rows per micro-batch (transformers' per_device_train_batch_size). */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  epochs: number;
  /** Stop after this many optimizer steps (0 = run the epochs). */
  maxSteps: number;
  /** Longest example in tokens, BOS included (0 = the model's max_position_embeddings). */
  maxLength: number;
  lossOn: LossOn;
  overlong: OverlongPolicy;
  onBadRecord: OnBadRecord;
  packing: boolean;
  seed: number;
  saveSteps: number;
  saveTotalLimit: number;
  logSteps: number;
  /** null: start fresh; 'latest': the newest complete checkpoint in `out`; else a checkpoint directory. */
  resume: string | null;
  /** Delete kiln's files already in `out` (a finished run, or checkpoints past the resume point) instead of refusing. */
  overwrite: boolean;
  preset: 'paper' | null;
  /** A system-prompt template file ({tool_list}, {functions}) saved with each checkpoint for the eval. */
  promptTemplate: string | null;
  /** How the function list is shortened in every system prompt (fitting.ts); saved for eval. */
  fitting: string;
}

type Kind = 'string' | 'strings' | 'number' | 'int' | 'bool' | { oneOf: readonly string[] };

interface OptionSpec {
  key: keyof TrainOptions;
  flag: string;
  kind: Kind;
  help: string;
  /** Shown as the value's name in --help. */
  meta?: string;
}

const SPECS: readonly OptionSpec[] = [
  { key: 'model', flag: 'model', kind: 'string', meta: '<dir|hub id>', help: 'model to fine-tune: a Hugging Face directory or hub id (required)' },
  { key: 'data', flag: 'data', kind: 'strings', meta: '<file|dir>', help: 'training data: ToolLLaMA JSON, answer trees, chat JSONL; repeatable (required)' },
  { key: 'out', flag: 'out', kind: 'string', meta: '<dir>', help: 'output directory: checkpoints, metrics.jsonl, loss.png (required)' },
  { key: 'preset', flag: 'preset', kind: { oneOf: ['paper'] }, meta: 'paper', help: "the study's recipe: lr 5e-5, linear, no warmup, wd 0, clip 1.0, batch 8, 1 epoch, whole-text loss" },
  { key: 'lr', flag: 'lr', kind: 'number', help: 'peak learning rate (5e-5)' },
  { key: 'beta1', flag: 'beta1', kind: 'number', help: 'AdamW beta1 (0.9)' },
  { key: 'beta2', flag: 'beta2', kind: 'number', help: 'AdamW beta2 (0.999)' },
  { key: 'eps', flag: 'eps', kind: 'number', help: 'AdamW epsilon (1e-8)' },
  { key: 'weightDecay', flag: 'weight-decay', kind: 'number', help: 'decoupled weight decay, never on biases or layer norms (0)' },
  { key: 'schedule', flag: 'schedule', kind: { oneOf: ['linear', 'cosine', 'constant'] }, help: 'learning-rate schedule after warmup (linear)' },
  { key: 'warmupSteps', flag: 'warmup-steps', kind: 'int', help: 'linear warmup steps (0)' },
  { key: 'warmupRatio', flag: 'warmup-ratio', kind: 'number', help: 'warmup as a fraction of all steps, when --warmup-steps is 0 (0)' },
  { key: 'maxGradNorm', flag: 'max-grad-norm', kind: 'number', help: 'global gradient-norm clipping, 0 = off (1.0)' },
  { key: 'batchSize', flag: 'batch-size', kind: 'int', help: 'rows per micro-batch (8)' },
  { key: 'gradAccum', flag: 'grad-accum', kind: 'int', help: 'micro-batches per optimizer step (1)' },
  { key: 'epochs', flag: 'epochs', kind: 'int', help: 'passes over the data (1)' },
  { key: 'maxSteps', flag: 'max-steps', kind: 'int', help: 'stop after this many optimizer steps, for smoke runs (0 = off)' },
  { key: 'maxLength', flag: 'max-length', kind: 'int', help: "longest example in tokens (the model's positions)" },
  { key: 'lossOn', flag: 'loss-on', kind: { oneOf: ['assistant', 'last-assistant', 'all'] }, help: 'which tokens are targets (assistant)' },
  { key: 'overlong', flag: 'overlong', kind: { oneOf: ['truncate', 'drop'] }, help: 'examples longer than --max-length (truncate)' },
  { key: 'onBadRecord', flag: 'on-bad-record', kind: { oneOf: ['fail', 'skip'] }, help: 'malformed training records (fail)' },
  { key: 'packing', flag: 'packing', kind: 'bool', help: 'pack several examples per row (off)' },
  { key: 'seed', flag: 'seed', kind: 'int', help: 'data order and dropout seed (42)' },
  { key: 'saveSteps', flag: 'save-steps', kind: 'int', help: 'checkpoint every N optimizer steps, 0 = only at the end (500)' },
  { key: 'saveTotalLimit', flag: 'save-total-limit', kind: 'int', help: 'keep the last K checkpoints (2)' },
  { key: 'logSteps', flag: 'log-steps', kind: 'int', help: 'progress line every N steps when stderr is not a terminal (10)' },
  { key: 'promptTemplate', flag: 'prompt-template', kind: 'string', meta: '<file>', help: 'the system-prompt template the data was rendered with, saved for eval' },
  { key: 'fitting', flag: 'fitting', kind: 'string', meta: '<policy>', help: `function-list fitting, saved for eval: ${FITTING_SPEC_HELP}` },
  { key: 'resume', flag: 'resume', kind: 'string', meta: '[checkpoint dir]', help: 'continue from a checkpoint (alone: the latest in --out)' },
  { key: 'overwrite', flag: 'overwrite', kind: 'bool', help: "delete an earlier run's checkpoints and logs in --out instead of refusing (off)" },
];

export const DEFAULTS: Omit<TrainOptions, 'model' | 'data' | 'out'> = {
  lr: 5e-5,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  schedule: 'linear',
  warmupSteps: 0,
  warmupRatio: 0,
  maxGradNorm: 1.0,
  batchSize: 8,
  gradAccum: 1,
  epochs: 1,
  maxSteps: 0,
  maxLength: 0,
  lossOn: 'assistant',
  overlong: 'truncate',
  onBadRecord: 'fail',
  packing: false,
  seed: 42,
  saveSteps: 500,
  saveTotalLimit: 2,
  logSteps: 10,
  resume: null,
  overwrite: false,
  preset: null,
  promptTemplate: null,
  fitting: 'toolbench',
};

/** What `--preset paper` sets. */
export const PAPER_PRESET: Partial<TrainOptions> = {
  lr: 5e-5,
  schedule: 'linear',
  warmupSteps: 0,
  warmupRatio: 0,
  weightDecay: 0,
  maxGradNorm: 1.0,
  batchSize: 8,
  gradAccum: 1,
  epochs: 1,
  lossOn: 'all',
  packing: false,
};

export class OptionsError extends Error {}

/**
 * `options` are the merged options; `explicit` only what the config file and the command line set,
 * which a resumed run lays over the options saved in its checkpoint.
 */
export type ParsedCommand = { help: true } | { help: false; options: TrainOptions; explicit: Partial<TrainOptions> };

const byFlag = new Map(SPECS.map((s) => [s.flag, s]));
const byKey = new Map(SPECS.map((s) => [s.key as string, s]));

/** Converts and checks one value; `name` is how errors refer to it (`--lr`, or the config file and key). */
function convert(spec: OptionSpec, raw: unknown, name: string): unknown {
  const kind = spec.kind;
  if (kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new OptionsError(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
  }
  if (kind === 'number' || kind === 'int') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n)) throw new OptionsError(`${name}: expected a number, got ${JSON.stringify(raw)}`);
    if (kind === 'int' && !Number.isInteger(n)) throw new OptionsError(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
    return n;
  }
  if (kind === 'strings') {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
      throw new OptionsError(`${name}: expected a path or a list of paths, got ${JSON.stringify(raw)}`);
    }
    return list;
  }
  if (typeof raw !== 'string' || raw === '') throw new OptionsError(`${name}: expected a string, got ${JSON.stringify(raw)}`);
  if (typeof kind === 'object' && !kind.oneOf.includes(raw)) {
    throw new OptionsError(`${name}: expected one of ${kind.oneOf.join(', ')}, got "${raw}"`);
  }
  return raw;
}

/** Reads a JSON config file; keys are flag names (`max-steps`) or option names (`maxSteps`). */
export function readConfigFile(path: string): Partial<TrainOptions> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new OptionsError(`--config ${path}: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new OptionsError(`--config ${path}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const spec = byFlag.get(key) ?? byKey.get(key);
    if (!spec) throw new OptionsError(`--config ${path}: unknown option "${key}" (see --help)`);
    out[spec.key] = spec.key === 'resume' && value === true ? 'latest' : convert(spec, value, `--config ${path}: "${key}"`);
  }
  return out as Partial<TrainOptions>;
}

/** Parses the command line into options, or `{ help: true }`. Throws OptionsError naming the bad flag. */
export function parseTrainArgs(argv: readonly string[]): ParsedCommand {
  const cli: Record<string, unknown> = {};
  let configPath: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--')) throw new OptionsError(`unexpected argument "${arg}" (options start with --; see --help)`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const next = argv[i + 1];
    const hasNext = next !== undefined && !next.startsWith('--');
    if (flag === 'config') {
      configPath = inline ?? (hasNext ? argv[++i]! : '');
      if (!configPath) throw new OptionsError('--config: expected a JSON file path');
      continue;
    }
    const negated = flag.startsWith('no-') && byFlag.get(flag.slice(3))?.kind === 'bool';
    const spec = byFlag.get(negated ? flag.slice(3) : flag);
    if (!spec) throw new OptionsError(`unknown option --${flag} (see --help)`);
    if (spec.kind === 'bool') {
      cli[spec.key] = negated ? false : inline === undefined ? true : convert(spec, inline, `--${spec.flag}`);
      continue;
    }
    if (spec.key === 'resume' && inline === undefined && !hasNext) {
      cli.resume = 'latest';
      continue;
    }
    const value = inline ?? (hasNext ? argv[++i] : undefined);
    if (value === undefined) throw new OptionsError(`--${flag}: expected a value`);
    const converted = convert(spec, value, `--${spec.flag}`);
    cli[spec.key] = spec.kind === 'strings' ? [...((cli[spec.key] as string[] | undefined) ?? []), ...(converted as string[])] : converted;
  }
  const file = configPath ? readConfigFile(configPath) : {};
  const preset = (cli.preset ?? file.preset ?? null) as TrainOptions['preset'];
  const explicit = { ...file, ...cli } as Partial<TrainOptions>;
  const merged = { ...DEFAULTS, ...(preset === 'paper' ? PAPER_PRESET : {}), ...explicit, preset } as TrainOptions;
  return { help: false, options: validateOptions(merged), explicit };
}

/**
 * Options that decide what a step computes: a resumed run must keep them, or its losses would not
 * continue the interrupted run's.
 */
export const RESUME_FIXED_KEYS = [
  'data', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'schedule', 'warmupSteps', 'warmupRatio', 'maxGradNorm',
  'batchSize', 'gradAccum', 'epochs', 'maxSteps', 'maxLength', 'lossOn', 'overlong', 'onBadRecord', 'packing', 'seed',
  'fitting',
] as const satisfies readonly (keyof TrainOptions)[];

/**
 * The options of a resumed run: those saved in the checkpoint, with what this command line sets
 * on top. Changing an option in RESUME_FIXED_KEYS is refused, naming it.
 */
export function resumeOptions(saved: TrainOptions, explicit: Partial<TrainOptions>, resume: string): TrainOptions {
  // --overwrite deletes files, so it holds for the command that says it, never for one resuming it.
  const merged = { ...saved, ...explicit, resume, overwrite: explicit.overwrite ?? false } as TrainOptions;
  const changed = RESUME_FIXED_KEYS.filter((k) => JSON.stringify(merged[k]) !== JSON.stringify(saved[k]));
  if (changed.length > 0) {
    const what = changed.map((k) => `--${byKey.get(k)!.flag} (checkpoint: ${JSON.stringify(saved[k])}, now: ${JSON.stringify(merged[k])})`);
    throw new OptionsError(`--resume: the run cannot continue with changed ${what.join(', ')}; start a new --out instead`);
  }
  return validateOptions(merged);
}

/** Range checks across the merged options; every message names the flag. */
export function validateOptions(o: TrainOptions): TrainOptions {
  // A resumed run may take --model and --data from its checkpoint.
  const required = o.resume === null ? (['model', 'data', 'out'] as const) : (['out'] as const);
  const missing = required.filter((k) => o[k] === undefined);
  if (missing.length > 0) throw new OptionsError(`missing ${missing.map((k) => `--${k}`).join(', ')} (see --help)`);
  const check = (ok: boolean, flag: string, what: string) => {
    if (!ok) throw new OptionsError(`--${flag}: ${what}`);
  };
  check(o.lr > 0, 'lr', `must be > 0, got ${o.lr}`);
  check(o.beta1 >= 0 && o.beta1 < 1, 'beta1', `must be in [0, 1), got ${o.beta1}`);
  check(o.beta2 >= 0 && o.beta2 < 1, 'beta2', `must be in [0, 1), got ${o.beta2}`);
  check(o.eps > 0, 'eps', `must be > 0, got ${o.eps}`);
  check(o.weightDecay >= 0, 'weight-decay', `must be >= 0, got ${o.weightDecay}`);
  check(o.warmupSteps >= 0, 'warmup-steps', `must be >= 0, got ${o.warmupSteps}`);
  check(o.warmupRatio >= 0 && o.warmupRatio < 1, 'warmup-ratio', `must be in [0, 1), got ${o.warmupRatio}`);
  check(o.maxGradNorm >= 0, 'max-grad-norm', `must be >= 0, got ${o.maxGradNorm}`);
  check(o.batchSize >= 1, 'batch-size', `must be >= 1, got ${o.batchSize}`);
  check(o.gradAccum >= 1, 'grad-accum', `must be >= 1, got ${o.gradAccum}`);
  check(o.epochs >= 1, 'epochs', `must be >= 1, got ${o.epochs}`);
  check(o.maxSteps >= 0, 'max-steps', `must be >= 0, got ${o.maxSteps}`);
  check(o.maxLength >= 0, 'max-length', `must be >= 0, got ${o.maxLength}`);
  check(o.saveSteps >= 0, 'save-steps', `must be >= 0, got ${o.saveSteps}`);
  check(o.saveTotalLimit >= 1, 'save-total-limit', `must be >= 1, got ${o.saveTotalLimit}`);
  check(o.logSteps >= 1, 'log-steps', `must be >= 1, got ${o.logSteps}`);
  check(o.seed >= 0 && o.seed <= 0xffffffff, 'seed', `must be a 32-bit unsigned integer, got ${o.seed}`);
  try {
    parseFittingPolicy(o.fitting ?? 'toolbench');
  } catch (e) {
    throw new OptionsError(`--fitting: ${(e as Error).message}`);
  }
  return o;
}

export function trainHelp(): string {
  const lines = [
    'Usage: node train.js --model <dir|hub id> --data <file|dir> --out <dir> [options]',
    '',
    'Fine-tunes an OPT model with supervised fine-tuning on ToolBench-format trajectories.',
    '',
    'Options:',
    '  --config <file.json>          options from a JSON object (keys: flag names); flags given here win',
  ];
  for (const s of SPECS) {
    const meta = s.meta ?? (s.kind === 'bool' ? '' : typeof s.kind === 'object' ? s.kind.oneOf.join('|') : s.kind === 'int' ? '<n>' : '<x>');
    const usage = `--${s.flag} ${meta}`;
    // A usage longer than the column gets its own line rather than running into the text.
    lines.push(usage.length < 30 ? `  ${usage.padEnd(30)}${s.help}` : `  ${usage}\n${' '.repeat(32)}${s.help}`);
  }
  lines.push('  --help                        this text', '');
  lines.push('Writes <out>/checkpoint-<step>/ (the model in Hugging Face layout, optimizer and trainer state) every');
  lines.push('--save-steps and at the end, <out>/metrics.jsonl (one line per step) and <out>/loss.png.');
  return lines.join('\n');
}
