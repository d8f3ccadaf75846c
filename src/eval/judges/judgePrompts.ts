/**
 * The LLM judge's prompts, read from a file the user points to (kiln ships none): either a JSON
 * file shaped like ToolEval's `tooleval_judge_prompts.json` (`{<evaluator>: {prompts,
 * functions, completions_kwargs}}`), or a ToolEval `template.txt` of
 * `<function><name>…</name><description>…</description></function>` blocks.
 */
import { readFileSync } from 'node:fs';

export type JudgeFunctionName = 'check_answer_status' | 'parse_answer_status' | 'check_task_solvable';

export interface JudgeFunctionSpec {
  /** The prompt text with `{query}`, `{answer}` or `{task}` placeholders. */
  prompt: string;
  /** The JSON schema of the forced call's arguments, before kiln adds `reason`. */
  parameters: Record<string, unknown>;
  description: string;
}

export interface JudgePrompts {
  functions: Partial<Record<JudgeFunctionName, JudgeFunctionSpec>>;
  /** Defaults from the evaluator's config (model, temperature, max_tokens), if given. */
  completionDefaults: Record<string, unknown>;
}

const NAMES: JudgeFunctionName[] = ['check_answer_status', 'parse_answer_status', 'check_task_solvable'];

// The result fields and their values are ToolEval's (docs/toolbench-formats.md §f); used when a template.txt carries no schemas.
const DEFAULT_PARAMETERS: Record<JudgeFunctionName, Record<string, unknown>> = {
  check_answer_status: statusSchema('answer_status', ['Unsure', 'Unsolved', 'Solved']),
  parse_answer_status: statusSchema('answer_status', ['Unsure', 'Unsolved', 'Solved']),
  check_task_solvable: statusSchema('task_status', ['Unsure', 'Unsolvable', 'Solvable']),
};

function statusSchema(field: string, values: string[]): Record<string, unknown> {
  return { type: 'object', properties: { [field]: { type: 'string', enum: values } }, required: [field] };
}

export function loadJudgePrompts(path: string, evaluator = 'default'): JudgePrompts {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.json') ? fromJson(text, path, evaluator) : fromTemplate(text, path);
}

function fromJson(text: string, path: string, evaluator: string): JudgePrompts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const entry = (data as Record<string, unknown>)[evaluator] as
    | { prompts?: Record<string, string>; functions?: { name: string; description?: string; parameters?: Record<string, unknown> }[]; completions_kwargs?: Record<string, unknown> }
    | undefined;
  if (!entry || typeof entry.prompts !== 'object') throw new Error(`${path}: no evaluator "${evaluator}" with a "prompts" object`);
  const functions: JudgePrompts['functions'] = {};
  for (const name of NAMES) {
    const prompt = entry.prompts[name];
    if (typeof prompt !== 'string') continue;
    const fn = entry.functions?.find((f) => f.name === name);
    functions[name] = { prompt, parameters: fn?.parameters ?? DEFAULT_PARAMETERS[name], description: fn?.description ?? name };
  }
  return checked({ functions, completionDefaults: entry.completions_kwargs ?? {} }, path);
}

function fromTemplate(text: string, path: string): JudgePrompts {
  const functions: JudgePrompts['functions'] = {};
  for (const m of text.matchAll(/<function>\s*<name>(.*?)<\/name>\s*<description>([\s\S]*?)<\/description>\s*<\/function>/g)) {
    const name = m[1]!.trim() as JudgeFunctionName;
    if (NAMES.includes(name)) functions[name] = { prompt: m[2]!, parameters: DEFAULT_PARAMETERS[name], description: name };
  }
  return checked({ functions, completionDefaults: {} }, path);
}

function checked(prompts: JudgePrompts, path: string): JudgePrompts {
  for (const name of ['check_answer_status', 'parse_answer_status'] as const) {
    if (!prompts.functions[name]) throw new Error(`${path}: no prompt for ${name}, which the LLM judge needs`);
  }
  return prompts;
}
