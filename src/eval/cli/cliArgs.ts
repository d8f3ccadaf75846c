/**
 * The eval command's options: one table gives each option's kind, default and help line, so
 * parsing, validation and `--help` cannot drift apart.
 */
import { FITTING_SPEC_HELP } from '../../toolbench/fitting.js';
import { DEFAULT_MAX_STEPS } from '../agent/agentLoop.js';
import { DEFAULT_BEAM, DEFAULT_MAX_LLM_CALLS } from '../agent/dfsdt.js';

type Kind = 'string' | 'int' | 'number' | 'flag';

interface OptionSpec {
  kind: Kind;
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
}

export const OPTIONS = {
  help: { kind: 'flag', help: 'print this help and exit' },
  model: { kind: 'string', help: 'kiln checkpoint directory or hub id (the kiln policy)' },
  policy: { kind: 'string', choices: ['kiln', 'openai', 'replay'], help: 'who acts: kiln model (default with --model), an OpenAI-compatible endpoint, or recorded answers' },
  endpoint: { kind: 'string', help: 'OpenAI-compatible base URL for --policy openai (key from OPENAI_API_KEY)' },
  'openai-model': { kind: 'string', default: 'gpt-3.5-turbo', help: 'model name sent to --endpoint' },
  'openai-tools': { kind: 'flag', help: 'offer the functions as OpenAI tools as well as in the prompt' },
  replay: { kind: 'string', help: 'recorded answers (ToolEval converted answers, dict or str() messages, or ToolBench answer files) for --policy/--env replay' },
  queries: { kind: 'string', help: 'query file or directory, or ToolEval converted answers (default: $KILN_TOOLBENCH_DIR/test or ../shared/toolbench/test)' },
  categories: { kind: 'string', help: 'comma-separated categories (file names without .json)' },
  limit: { kind: 'int', help: 'first N queries of each category' },
  ids: { kind: 'string', help: 'comma-separated query ids' },
  env: { kind: 'string', default: 'offline', choices: ['offline', 'stabletoolbench', 'rapidapi', 'replay'], help: 'tool environment' },
  'tool-timeout': { kind: 'number', default: 60, help: 'seconds before a tool server call is abandoned (0: wait forever)' },
  'tool-retries': { kind: 'int', default: 1, help: 'retries of a tool server call after a timeout, network error, 429 or 5xx' },
  'max-reply-bytes': { kind: 'int', default: 1048576, help: 'tool replies are cut to this many bytes when read (and stored cut)' },
  'env-url': { kind: 'string', help: 'tool server URL (stabletoolbench: default $SERVICE_URL or http://localhost:8080/virtual; rapidapi: required). Key from TOOLBENCH_KEY' },
  judge: { kind: 'string', default: 'rules', choices: ['rules', 'llm', 'tooleval-2023'], help: 'kiln\'s rule judge (default, offline), the LLM judge, or ToolEval 2023\'s pass rule (offline)' },
  'judge-endpoint': { kind: 'string', help: 'OpenAI-compatible base URL of the LLM judge (key from JUDGE_API_KEY or OPENAI_API_KEY)' },
  'judge-model': { kind: 'string', help: 'judge model name (default: the prompt file\'s, else gpt-4o)' },
  'judge-prompts': { kind: 'string', help: 'ToolEval prompt file: tooleval_judge_prompts.json-style JSON or a template.txt' },
  'judge-samples': { kind: 'int', default: 3, help: 'LLM judge evaluations per query (SoPR averages them)' },
  'judge-solvability': { kind: 'flag', help: 'also compute ToolBench\'s original vote with the solvability check' },
  'judge-call-style': { kind: 'string', default: 'tools', choices: ['tools', 'functions'], help: 'force the judge call via tools (StableToolBench) or functions (ToolBench)' },
  method: { kind: 'string', default: 'cot', choices: ['cot', 'dfsdt'], help: 'CoT/ReAct chain or DFSDT search' },
  'max-steps': { kind: 'int', default: DEFAULT_MAX_STEPS, help: 'model calls per chain / depth of a DFSDT branch (ToolBench: 12 nodes = 4 steps)' },
  'max-llm-calls': { kind: 'int', default: DEFAULT_MAX_LLM_CALLS, help: 'DFSDT: model calls per query' },
  beam: { kind: 'int', default: DEFAULT_BEAM, help: 'DFSDT: children per node' },
  'diversity-prompt-file': { kind: 'string', help: 'DFSDT: diversity prompt with {previous_candidate} (default: kiln\'s wording)' },
  fitting: { kind: 'string', help: `function-list fitting when the checkpoint names none: ${FITTING_SPEC_HELP}` },
  'prompt-file': { kind: 'string', help: 'system prompt template with {tool_list} and {functions}' },
  'name-match': { kind: 'string', default: 'suffix', choices: ['suffix', 'exact'], help: 'how a called name finds its function (ToolBench: suffix)' },
  'batch-size': { kind: 'int', default: 16, help: 'queries in flight, and the kiln model\'s batch' },
  'max-new-tokens': { kind: 'int', default: 256, help: 'kiln: tokens generated per step' },
  'stop-after-action-input': { kind: 'flag', help: 'kiln: end each step when its Action Input JSON object closes, not at </s>' },
  'constrain-actions': { kind: 'flag', help: 'kiln: decode the Action line constrained to the offered function names, its input to their parameters and enums (ToolBench decodes freely; the report says which)' },
  'max-positions': { kind: 'int', help: 'kiln: context size (default: the model\'s, else 2048)' },
  temperature: { kind: 'number', default: 0, help: 'sampling temperature (0 = greedy)' },
  seed: { kind: 'int', default: 0, help: 'seed for sampling and the judge\'s coin flips' },
  out: { kind: 'string', default: 'eval-out', help: 'output directory (trajectories.jsonl, summary.json, report.md)' },
  fresh: { kind: 'flag', help: 'discard earlier results in --out instead of resuming' },
  'no-baselines': { kind: 'flag', help: 'leave the study\'s quoted baselines out of the table' },
  'judge-agreement': { kind: 'flag', help: 'score the rule judge against ToolEval labels on eval-sample and exit' },
  'eval-sample': { kind: 'string', help: 'eval-sample/stabletoolbench directory for --judge-agreement' },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type ParsedArgs = Partial<Record<OptionName, string | number | boolean>>;

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = {};
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    if (spec.default !== undefined) out[name] = spec.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) as OptionName;
    const spec: OptionSpec | undefined = OPTIONS[name];
    if (!spec) throw new UsageError(`unknown option --${name} (see --help)`);
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    out[name] = convert(name, spec, value);
  }
  return out;
}

function convert(name: string, spec: OptionSpec, value: string): string | number {
  if (spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got ${JSON.stringify(value)})`);
  }
  if (spec.kind === 'int') {
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer (got ${JSON.stringify(value)})`);
    return Number(value);
  }
  if (spec.kind === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(value)})`);
    return n;
  }
  return value;
}

export function helpText(): string {
  const lines = [
    'Usage: node eval.js --model <dir|hub id> [--queries <dir>] [--env offline|stabletoolbench|rapidapi] [--judge rules|llm|tooleval-2023] [--out <dir>]',
    '',
    'Runs ToolBench-style agentic tool-calling evaluation and prints the pass-rate table.',
    '',
  ];
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const value = spec.kind === 'flag' ? '' : spec.choices ? ` <${spec.choices.join('|')}>` : ` <${spec.kind === 'string' ? 'value' : spec.kind}>`;
    const def = spec.default !== undefined && spec.kind !== 'flag' ? ` (default ${spec.default})` : '';
    lines.push(`  --${name}${value}`.padEnd(40) + ` ${spec.help}${def}`);
  }
  return `${lines.join('\n')}\n`;
}
