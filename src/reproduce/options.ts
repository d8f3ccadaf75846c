/**
 * The reproduce command's options. Everything but where the data lies has the study's value by
 * default; the limits (--max-steps, --limit, ...) exist for smoke runs and tests.
 */
import { FITTING_SPEC_HELP, parseFittingPolicy } from '../toolbench/fitting.js';

export interface ReproduceOptions {
  /** The ToolBench release's data/ folder. */
  data: string | null;
  /** Training data (file or folder) and test queries, when not taken from `data`. */
  train: string | null;
  queries: string | null;
  model: string;
  out: string;
  fitting: string;
  promptTemplate: string | null;
  allowCpu: boolean;
  /** Free disk space the run needs, in GB. */
  minFreeGb: number;
  /** Training conversations the pre-flight stage counts (the trainer's report counts them all). */
  preflightSample: number;
  /** Micro-batches per step; the paper's batch of 8 is split into 8 / gradAccum rows each. */
  gradAccum: number;
  maxSteps: number | null;
  maxLength: number | null;
  saveSteps: number | null;
  limit: number | null;
  maxNewTokens: number | null;
  evalSteps: number | null;
  help: boolean;
}

export class ReproduceUsageError extends Error {}

interface Spec {
  key: keyof ReproduceOptions;
  kind: 'string' | 'int' | 'flag';
  meta?: string;
  help: string;
}

const SPECS: Record<string, Spec> = {
  data: { key: 'data', kind: 'string', meta: '<dir>', help: "the ToolBench release's data/ folder (toolllama_G123_dfs_train.json, test_instruction/)" },
  train: { key: 'train', kind: 'string', meta: '<file|dir>', help: 'training data instead: toolllama_G123_dfs_train.json, or answer trees' },
  queries: { key: 'queries', kind: 'string', meta: '<dir>', help: 'test queries instead: a folder of <group>.json (StableToolBench solvable queries)' },
  model: { key: 'model', kind: 'string', meta: '<hub id|dir>', help: 'the model to fine-tune (facebook/opt-350m)' },
  out: { key: 'out', kind: 'string', meta: '<dir>', help: 'where every stage writes; run again to resume (runs/reproduce)' },
  fitting: { key: 'fitting', kind: 'string', meta: '<policy>', help: `function-list fitting for training and evaluation: ${FITTING_SPEC_HELP}` },
  'prompt-template': { key: 'promptTemplate', kind: 'string', meta: '<file>', help: "system-prompt template (default: recovered from the training data's system prompts)" },
  'allow-cpu': { key: 'allowCpu', kind: 'flag', help: 'run on a software adapter (lavapipe): for tests only, far too slow for the study' },
  'min-free-gb': { key: 'minFreeGb', kind: 'int', meta: '<n>', help: 'free disk space required before starting (12)' },
  'preflight-sample': { key: 'preflightSample', kind: 'int', meta: '<n>', help: 'training conversations counted by the pre-flight stage (5000)' },
  'grad-accum': { key: 'gradAccum', kind: 'int', meta: '1|2|4|8', help: "less GPU memory, same result: the paper's batch of 8 as n micro-batches (1)" },
  'max-steps': { key: 'maxSteps', kind: 'int', meta: '<n>', help: 'smoke runs: stop training after n optimizer steps' },
  'max-length': { key: 'maxLength', kind: 'int', meta: '<n>', help: "smoke runs: training example length (the model's positions)" },
  'save-steps': { key: 'saveSteps', kind: 'int', meta: '<n>', help: 'checkpoint every n steps (the trainer\'s 500)' },
  limit: { key: 'limit', kind: 'int', meta: '<n>', help: 'smoke runs: first n queries of each group' },
  'max-new-tokens': { key: 'maxNewTokens', kind: 'int', meta: '<n>', help: "tokens generated per step (eval's 256)" },
  'eval-steps': { key: 'evalSteps', kind: 'int', meta: '<n>', help: "model calls per query (eval's 4, ToolBench's 12 nodes)" },
  help: { key: 'help', kind: 'flag', help: 'this text' },
};

export const REPRODUCE_DEFAULTS: ReproduceOptions = {
  data: null,
  train: null,
  queries: null,
  model: 'facebook/opt-350m',
  out: 'runs/reproduce',
  fitting: 'toolbench',
  promptTemplate: null,
  allowCpu: false,
  minFreeGb: 12,
  preflightSample: 5000,
  gradAccum: 1,
  maxSteps: null,
  maxLength: null,
  saveSteps: null,
  limit: null,
  maxNewTokens: null,
  evalSteps: null,
  help: false,
};

export function parseReproduceArgs(argv: readonly string[]): ReproduceOptions {
  const o: Record<string, unknown> = { ...REPRODUCE_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    const spec = Object.hasOwn(SPECS, name) ? SPECS[name] : undefined;
    if (!spec) throw new ReproduceUsageError(`unknown argument ${JSON.stringify(arg)} (see --help)`);
    if (spec.kind === 'flag') {
      o[spec.key] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new ReproduceUsageError(`--${name}: expected a value`);
    if (spec.kind === 'int') {
      if (!/^\d+$/.test(value)) throw new ReproduceUsageError(`--${name}: expected a whole number, got ${JSON.stringify(value)}`);
      o[spec.key] = Number(value);
    } else o[spec.key] = value;
  }
  const options = o as unknown as ReproduceOptions;
  if (![1, 2, 4, 8].includes(options.gradAccum)) throw new ReproduceUsageError(`--grad-accum: expected 1, 2, 4 or 8, got ${options.gradAccum}`);
  try {
    parseFittingPolicy(options.fitting);
  } catch (e) {
    throw new ReproduceUsageError(`--fitting: ${(e as Error).message}`);
  }
  return options;
}

export function reproduceHelp(): string {
  const lines = [
    'Usage: npm run reproduce -- --data <ToolBench data/ folder> [options]',
    '       node reproduce.js --train <toolllama_G123_dfs_train.json> --queries <test queries dir> [options]',
    '',
    'Reproduces the study: downloads the model, prints the length pre-flight, fine-tunes with --preset paper',
    'and the fitting policy, evaluates all six test groups and writes the pass-rate table beside the study\'s',
    'numbers (<out>/results.md). Every stage is resumable: run the same command again after an interruption.',
    '',
    'Options:',
  ];
  for (const [name, spec] of Object.entries(SPECS)) lines.push(`  ${`--${name} ${spec.meta ?? ''}`.padEnd(30)}${spec.help}`);
  return `${lines.join('\n')}\n`;
}
