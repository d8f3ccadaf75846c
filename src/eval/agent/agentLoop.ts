/**
 * The CoT/ReAct loop as ToolBench runs it (`CoT@1`, docs/toolbench-formats.md §d): ask the model for one
 * Thought/Action/Action Input, carry it out, append the observation, repeat until a successful
 * Finish, a give-up, or the step budget. ToolBench prunes a chain at depth 12 nodes; a ToolLLaMA
 * step always makes three nodes (Thought, Action, Action Input), so that is 4 model calls, the
 * last of which may still be Finish. Errors from tools do not stop the chain: the model sees them.
 */
import type { FittingPolicy } from '../../toolbench/fitting.js';
import type { ToolFunction, ToolQuery } from '../../toolbench/functions.js';
import type { ToolEnvironment } from '../envs/environment.js';
import { executeAction, type ExecutedStep, type NameMatch } from './executeAction.js';
import type { PolicyCompletion } from '../policies/policy.js';
import type { ToolLlamaMessage } from '../../toolbench/render.js';
import type { PolicyBatcher } from '../policies/policyBatcher.js';
import { parseReact, renderReact } from './react.js';
import { startConversation } from './conversation.js';
import { StatusCode, type StopReason, type Trajectory, type TrajectoryStep } from '../trajectory.js';

/** ToolBench's `single_chain_max_step` = 12 nodes, at 3 nodes per ToolLLaMA step. */
export const DEFAULT_MAX_STEPS = 4;

export interface AgentSettings {
  /** The system prompt template (`{tool_list}`, `{functions}`). */
  template: string;
  env: ToolEnvironment;
  batcher: PolicyBatcher;
  nameMatch: NameMatch;
  /** Model calls on one path (CoT) or the depth limit of a branch (DFSDT). */
  maxSteps: number;
  /** How the prompt's function list is shortened; default ToolBench's rendering. */
  fitting?: FittingPolicy;
}

export interface QueryTask {
  query: ToolQuery;
  category: string;
}

/** One model call plus its action, shared by the CoT loop and DFSDT. */
export interface StepOutcome {
  completion: PolicyCompletion;
  executed?: ExecutedStep;
}

export async function modelStep(
  task: QueryTask,
  settings: AgentSettings,
  functions: readonly ToolFunction[],
  messages: ToolLlamaMessage[],
  callIndex: number,
): Promise<StepOutcome> {
  const completion = await settings.batcher.complete({
    query: task.query,
    category: task.category,
    messages,
    functions,
    callIndex,
  });
  if (!completion.ok) return { completion };
  const action = parseReact(completion.text);
  const executed = await executeAction(
    { query: task.query, category: task.category, functions, env: settings.env, nameMatch: settings.nameMatch },
    action,
    completion.text,
  );
  return { completion, executed };
}

/** The assistant and function turns a step adds to the conversation. */
export function stepMessages(step: TrajectoryStep): ToolLlamaMessage[] {
  return [
    { role: 'assistant', content: renderReact(step) },
    { role: 'function', name: step.functionName ?? step.action, content: step.observation },
  ];
}

export async function runChain(task: QueryTask, settings: AgentSettings): Promise<Trajectory> {
  const { functions, messages } = startConversation(task.query, settings.template, {}, settings.fitting);
  const steps: TrajectoryStep[] = [];
  let llmCalls = 0;
  const trajectory = (stop: StopReason, extra: Partial<Trajectory> = {}): Trajectory => ({
    queryId: task.query.query_id,
    category: task.category,
    method: 'cot',
    steps,
    finalAnswer: '',
    stop,
    llmCalls,
    contextOverflows: stop === 'context_overflow' ? 1 : 0,
    ...extra,
  });
  while (steps.length < settings.maxSteps) {
    const { completion, executed } = await modelStep(task, settings, functions, messages, llmCalls);
    llmCalls++;
    if (!completion.ok) {
      return trajectory(completion.kind === 'context_overflow' ? 'context_overflow' : 'policy_error', {
        error: completion.message,
      });
    }
    const { step, finalAnswer } = executed!;
    steps.push(step);
    if (finalAnswer !== undefined) return trajectory('finish', { finalAnswer });
    if (step.code === StatusCode.finishGiveUp) return trajectory('give_up');
    messages.push(...stepMessages(step));
  }
  return trajectory('budget');
}
