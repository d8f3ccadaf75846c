/**
 * Turning the eval command's options into the run's parts: the policy (kiln model loaded lazily,
 * an OpenAI-compatible endpoint, or a replay), the tool environment, the judge and the prompt
 * template. Secrets are read from the environment here and passed only to the clients.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import { fittingPolicyName, parseFittingPolicy, readFittingPolicy, TOOLBENCH_FITTING, type FittingPolicy } from '../../toolbench/fitting.js';
import { KILN_DEMO_PROMPT_TEMPLATE, hasFunctionsPlaceholder } from '../../toolbench/promptTemplate.js';
import { chatPromptEncoder } from '../agent/chatPrompt.js';
import { UsageError, type ParsedArgs } from './cliArgs.js';
import type { ToolEnvironment } from '../envs/environment.js';
import { OfflineSimulator } from '../envs/offline.js';
import { RapidApiClient } from '../envs/rapidapi.js';
import { ReplayEnvironment } from '../envs/replay.js';
import { StableToolBenchClient } from '../envs/stabletoolbench.js';
import type { Judge } from '../judges/judge.js';
import { loadJudgePrompts } from '../judges/judgePrompts.js';
import { LlmJudge } from '../judges/llm.js';
import { RuleJudge } from '../judges/rules.js';
import { ToolEval2023Judge } from '../judges/tooleval2023.js';
import { registerSecret } from '../secrets.js';
import { KilnPolicy, type GenerativeModel, type TextTokenizer } from '../policies/kiln.js';
import { OpenAiPolicy } from '../policies/openai.js';
import { ReplayPolicy } from '../policies/replay.js';
import type { Policy } from '../policies/policy.js';
import { loadRecordedAnswers, type RecordedAnswerSet } from '../recorded/recordedAnswers.js';

/** The file a kiln checkpoint keeps its training system-prompt template in. */
export const CHECKPOINT_TEMPLATE_FILE = 'kiln_prompt_template.txt';

const str = (a: ParsedArgs, k: keyof ParsedArgs) => a[k] as string | undefined;
const num = (a: ParsedArgs, k: keyof ParsedArgs) => a[k] as number;

let recordedCache: { path: string; answers: RecordedAnswerSet } | undefined;
function recorded(args: ParsedArgs): RecordedAnswerSet {
  const path = str(args, 'replay');
  if (!path) throw new UsageError('--replay <path> is needed for --policy replay and --env replay');
  if (recordedCache?.path !== path) recordedCache = { path, answers: loadRecordedAnswers(path) };
  return recordedCache!.answers;
}

export async function createPolicy(args: ParsedArgs, log: (line: string) => void): Promise<Policy> {
  const kind = str(args, 'policy') ?? (str(args, 'model') ? 'kiln' : undefined);
  if (kind === 'openai') {
    const url = str(args, 'endpoint');
    if (!url) throw new UsageError('--policy openai needs --endpoint <base URL>');
    return new OpenAiPolicy({
      endpoint: { url, apiKey: secret(process.env.OPENAI_API_KEY), model: str(args, 'openai-model')!, log },
      useTools: args['openai-tools'] === true,
      temperature: num(args, 'temperature'),
      maxTokens: num(args, 'max-new-tokens'),
      concurrency: num(args, 'batch-size'),
    });
  }
  if (kind === 'replay') return new ReplayPolicy(recorded(args), str(args, 'replay')!);
  if (kind === 'kiln') return loadKilnPolicy(args);
  throw new UsageError('say who acts: --model <dir|hub id>, --policy openai --endpoint <URL>, or --policy replay --replay <path>');
}

async function loadKilnPolicy(args: ParsedArgs): Promise<Policy> {
  const source = str(args, 'model');
  if (!source) throw new UsageError('--policy kiln needs --model <dir|hub id>');
  // Loaded only when needed: the model layer pulls in WebGPU, which the other policies do not need.
  const modelModule = '../../model/index.js';
  let mod: {
    AutoModelForCausalLM?: { fromPretrained(p: string): Promise<GenerativeModel & { config?: Record<string, unknown>; modelType?: string }> };
    Tokenizer?: { fromPretrained(p: string): Promise<TextTokenizer> };
  };
  try {
    mod = (await import(modelModule)) as typeof mod;
  } catch (e) {
    throw new Error(`cannot load kiln's model layer (src/model/index.ts) for --model: ${(e as Error).message}`);
  }
  if (!mod.AutoModelForCausalLM?.fromPretrained || !mod.Tokenizer?.fromPretrained) {
    throw new Error('kiln\'s model layer does not export AutoModelForCausalLM.fromPretrained and Tokenizer.fromPretrained yet');
  }
  const [model, tokenizer] = await Promise.all([mod.AutoModelForCausalLM.fromPretrained(source), mod.Tokenizer.fromPretrained(source)]);
  // The Llama family is prompted through its chat template, as it was trained; OPT through ToolLLaMA's text.
  const chat = model.modelType !== undefined && model.modelType !== 'opt' ? chatPromptEncoder(tokenizer as Tokenizer) : null;
  const config = model.config ?? {};
  const fromConfig = Number(config.maxPositionEmbeddings ?? config.max_position_embeddings);
  const templateFile = join(source, CHECKPOINT_TEMPLATE_FILE);
  const trained = existsSync(templateFile) ? readFileSync(templateFile, 'utf8') : undefined;
  const fitting = readFittingPolicy(source);
  return new KilnPolicy({
    model,
    tokenizer,
    source,
    ...(trained !== undefined ? { promptTemplate: trained } : {}),
    ...(fitting.fromFile ? { fitting: fitting.policy } : {}),
    maxPositions: (args['max-positions'] as number | undefined) ?? (Number.isFinite(fromConfig) && fromConfig > 0 ? fromConfig : 2048),
    maxNewTokens: num(args, 'max-new-tokens'),
    temperature: num(args, 'temperature'),
    seed: num(args, 'seed'),
    batchSize: num(args, 'batch-size'),
    stopAfterActionInput: args['stop-after-action-input'] === true,
    constrainActions: args['constrain-actions'] === true,
    ...(chat ? { encodePrompt: (m) => chat.encodePrompt(m), extraStopStrings: chat.stopStrings } : {}),
  });
}

/** The checkpoint's fitting policy first (it is what the model learned), then --fitting, then ToolBench's rendering. */
export function chooseFitting(policy: Policy, args: ParsedArgs, log: (line: string) => void): FittingPolicy {
  const spec = str(args, 'fitting');
  let asked: FittingPolicy | undefined;
  try {
    asked = spec === undefined ? undefined : parseFittingPolicy(spec);
  } catch (e) {
    throw new UsageError(`--fitting: ${(e as Error).message}`);
  }
  if (policy.fitting === undefined) return asked ?? { ...TOOLBENCH_FITTING };
  if (asked !== undefined && fittingPolicyName(asked) !== fittingPolicyName(policy.fitting)) {
    log(`note: using the checkpoint's fitting policy ${fittingPolicyName(policy.fitting)}; --fitting ${spec} is ignored`);
  }
  return policy.fitting;
}

/** The checkpoint's own template first (it is what the model learned), then --prompt-file, then kiln's demo wording. */
export function chooseTemplate(policy: Policy, args: ParsedArgs, log: (line: string) => void): { template: string; source: string } {
  const file = str(args, 'prompt-file');
  if (policy.promptTemplate !== undefined) {
    if (file) log(`note: using the checkpoint's ${CHECKPOINT_TEMPLATE_FILE}; --prompt-file ${file} is ignored`);
    return { template: policy.promptTemplate, source: `checkpoint ${CHECKPOINT_TEMPLATE_FILE}` };
  }
  if (file) {
    const template = readFileSync(file, 'utf8');
    if (!hasFunctionsPlaceholder(template)) throw new UsageError(`${file}: the template has no {functions} or {function_signatures} placeholder`);
    return { template, source: file };
  }
  return { template: KILN_DEMO_PROMPT_TEMPLATE, source: 'kiln demo template' };
}

export function createEnvironment(args: ParsedArgs, log: (line: string) => void): ToolEnvironment {
  const key = process.env.TOOLBENCH_KEY ?? '';
  registerSecret(key);
  const timeout = num(args, 'tool-timeout');
  if (!(timeout >= 0)) throw new UsageError(`--tool-timeout must be 0 or more seconds (got ${timeout})`);
  const limits = {
    timeoutMs: Math.round(timeout * 1000),
    attempts: 1 + num(args, 'tool-retries'),
    maxReplyBytes: Math.max(1, num(args, 'max-reply-bytes')),
    log,
  };
  switch (str(args, 'env')) {
    case 'stabletoolbench':
      return new StableToolBenchClient({ url: str(args, 'env-url') ?? process.env.SERVICE_URL ?? 'http://localhost:8080/virtual', key, ...limits });
    case 'rapidapi': {
      const url = str(args, 'env-url');
      if (!url) throw new UsageError('--env rapidapi needs --env-url <http://host:8080/rapidapi>');
      return new RapidApiClient({ url, key, ...limits });
    }
    case 'replay':
      return new ReplayEnvironment(recorded(args), str(args, 'replay')!);
    default:
      return new OfflineSimulator();
  }
}

export function createJudge(args: ParsedArgs, log: (line: string) => void): Judge {
  if (str(args, 'judge') === 'tooleval-2023') return new ToolEval2023Judge();
  if (str(args, 'judge') !== 'llm') return new RuleJudge();
  const url = str(args, 'judge-endpoint');
  const promptsPath = str(args, 'judge-prompts');
  if (!url || !promptsPath) throw new UsageError('--judge llm needs --judge-endpoint <URL> and --judge-prompts <file>');
  if (!existsSync(promptsPath) || !statSync(promptsPath).isFile()) throw new UsageError(`--judge-prompts ${promptsPath}: no such file`);
  const prompts = loadJudgePrompts(promptsPath);
  const model = str(args, 'judge-model') ?? (prompts.completionDefaults.model as string | undefined) ?? 'gpt-4o';
  return new LlmJudge({
    endpoint: { url, apiKey: secret(process.env.JUDGE_API_KEY ?? process.env.OPENAI_API_KEY), model, log },
    prompts,
    samples: Math.max(1, num(args, 'judge-samples')),
    solvability: args['judge-solvability'] === true,
    callStyle: str(args, 'judge-call-style') === 'functions' ? 'functions' : 'tools',
    seed: num(args, 'seed'),
    // A replay of ToolEval's converted answers is judged on the entries as recorded.
    ...(str(args, 'policy') === 'replay' ? { recorded: recorded(args) } : {}),
  });
}

/** A key read from the environment, remembered so that it is scrubbed wherever it would appear. */
function secret(value: string | undefined): string | undefined {
  registerSecret(value);
  return value;
}
