/**
 * Carrying out one parsed ReAct action against the query's functions, as ToolBench's environment
 * does (docs/toolbench-formats.md §b, name resolution and Finish; §d, status codes): Finish is
 * handled here with its exact replies and codes, an unknown name gets `No such function name`, and
 * an API call goes to the tool environment. Nothing the model writes makes this throw.
 */
import { resolveFunctionName, type ToolFunction, type ToolQuery } from '../../toolbench/functions.js';
import type { ToolEnvironment } from '../envs/environment.js';
import { parseToolInput } from '../envs/environment.js';
import { observationText } from './observation.js';
import type { ReactAction } from './react.js';
import { StatusCode, type TrajectoryStep } from './trajectory.js';

export type NameMatch = 'exact' | 'suffix';

export interface ActionContext {
  query: ToolQuery;
  category: string;
  functions: readonly ToolFunction[];
  env: ToolEnvironment;
  /** ToolBench resolves by suffix (its environment); `exact` is kiln's stricter choice. */
  nameMatch: NameMatch;
}

export interface ExecutedStep {
  step: TrajectoryStep;
  /** Set on a successful Finish give_answer: the raw argument string. */
  finalAnswer?: string;
}

export async function executeAction(ctx: ActionContext, action: ReactAction, raw: string): Promise<ExecutedStep> {
  const base = {
    raw,
    parsed: action.strict,
    thought: action.thought,
    action: action.action,
    actionInput: action.actionInput,
    argsJson: parseToolInput(action.actionInput) !== null,
  };
  const resolved = resolveFunctionName(action.action, ctx.functions, { match: ctx.nameMatch });
  if (resolved === null) {
    const reply = { error: `No such function name: ${action.action}`, response: '' };
    return {
      step: { ...base, functionName: null, reply, code: StatusCode.noSuchFunction, observation: observationText(reply) },
    };
  }
  const name = resolved.function.name;
  if (name === 'Finish') return finish(base, action.actionInput);
  const api = ctx.query.api_list[resolved.index];
  if (api === undefined) throw new Error(`function ${name} has no api_list entry at index ${resolved.index}`);
  const { reply, code, observation } = await ctx.env.call({
    query: ctx.query,
    category: ctx.category,
    api,
    functionName: name,
    actionInput: action.actionInput,
  });
  return { step: { ...base, functionName: name, reply, code, observation: observation ?? observationText(reply) } };
}

type StepBase = Omit<TrajectoryStep, 'functionName' | 'reply' | 'code' | 'observation'>;

/** Finish's replies are literal texts in ToolBench, some of them not even JSON; kept verbatim. */
function finish(base: StepBase, input: string): ExecutedStep {
  const { returnType, finalAnswer } = readFinishArguments(input);
  const step = (error: string, response: string, code: number, observation: string): ExecutedStep => ({
    step: { ...base, functionName: 'Finish', reply: { error, response }, code, observation },
  });
  if (returnType === undefined) {
    return step('must have "return_type"', '', StatusCode.badFinishInput, '{error:"must have "return_type""}');
  }
  if (returnType === 'give_up_and_restart') {
    return step('', 'chose to give up and restart', StatusCode.finishGiveUp, '{"response":"chose to give up and restart"}');
  }
  if (returnType !== 'give_answer') {
    return step('"return_type" is not a valid choice', '', StatusCode.badFinishInput, '{error:""return_type" is not a valid choice"}');
  }
  if (finalAnswer === undefined) {
    return step('must have "final_answer"', '', StatusCode.badFinishInput, '{error:"must have "final_answer""}');
  }
  const done = step(
    '',
    'successfully giving the final answer.',
    StatusCode.finishAnswer,
    '{"response":"successfully giving the final answer."}',
  );
  return { ...done, finalAnswer: input };
}

/**
 * Finish's arguments as ToolBench reads them: JSON that may hold raw control characters inside
 * strings, else substring sniffing (docs/toolbench-formats.md §b, Finish semantics).
 */
export function readFinishArguments(input: string): { returnType?: string; finalAnswer?: unknown } {
  const parsed = parseJsonAllowingControlChars(input);
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const obj = parsed as Record<string, unknown>;
    return {
      ...(obj.return_type !== undefined ? { returnType: String(obj.return_type) } : {}),
      ...(obj.final_answer !== undefined ? { finalAnswer: obj.final_answer } : {}),
    };
  }
  const out: { returnType?: string; finalAnswer?: unknown } = {};
  if (input.includes('"return_type": "give_answer"')) out.returnType = 'give_answer';
  else if (input.includes('"return_type": "give_up_and_restart"')) out.returnType = 'give_up_and_restart';
  else {
    const at = input.indexOf('"return_type": "');
    if (at >= 0) {
      const rest = input.slice(at + '"return_type": "'.length);
      const end = rest.indexOf('",');
      out.returnType = end >= 0 ? rest.slice(0, end) : rest;
    }
  }
  const answerAt = input.indexOf('"final_answer": "');
  if (answerAt >= 0) out.finalAnswer = input.slice(answerAt + '"final_answer": "'.length);
  return out;
}

/** Python's `json.loads(s, strict=False)`: raw control characters are allowed inside strings. */
export function parseJsonAllowingControlChars(text: string): unknown {
  let escaped = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString && ch === '\\') {
      escaped += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    const code = ch.charCodeAt(0);
    escaped += inString && code < 0x20 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  try {
    return JSON.parse(escaped);
  } catch {
    return null;
  }
}
