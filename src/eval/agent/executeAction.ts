/**
 * Carrying out one parsed ReAct action against the query's functions, as ToolBench's environment
 * does (docs/toolbench-formats.md §b, name resolution and Finish; §d, status codes): Finish is
 * handled here with its exact replies and codes, an unknown name gets `No such function name`, and
 * an API call goes to the tool environment. Nothing the model writes makes this throw.
 */
import { resolveFunctionName, type ToolFunction, type ToolQuery } from '../../toolbench/functions.js';
import type { ToolEnvironment } from '../envs/environment.js';
import { parseToolInput } from '../envs/environment.js';
import { readFinishArguments } from '../calls/actionInput.js';
import { observationText } from '../calls/observation.js';
import type { ReactAction } from './react.js';
import { StatusCode, type TrajectoryStep } from '../trajectory.js';

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
