/**
 * DFSDT as ToolBench runs it without the filter (`DFS_woFilter_w2`, docs/toolbench-formats.md §d): a depth-first
 * search in which every node may get up to two children, one model call each. The first child is
 * explored fully before the second is generated; before a later child the model is shown its
 * earlier attempts at that node (the diversity prompt) and asked for something different.
 *
 * Backtracking follows ToolBench's return values: a successful Finish ends the search; a give-up
 * backs up two levels (its parent skips its remaining children); a branch at the depth limit backs
 * up one level; the whole search stops after `maxLlmCalls` model calls (200).
 */
import type { ToolFunction } from '../../toolbench/functions.js';
import { modelStep, stepMessages, type AgentSettings, type QueryTask } from './agentLoop.js';
import { startConversation } from './conversation.js';
import type { ToolLlamaMessage } from '../../toolbench/render.js';
import { StatusCode, type StopReason, type Trajectory, type TrajectoryStep } from '../trajectory.js';

export const DEFAULT_BEAM = 2;
export const DEFAULT_MAX_LLM_CALLS = 200;

/**
 * kiln's wording of the diversity prompt; ToolBench's own text can be supplied from a file. The
 * placeholder receives the earlier children as a JSON list, then the node's last observation.
 */
export const KILN_DIVERSITY_PROMPT =
  'Earlier attempts from this point did not lead to an answer. They were:\n{previous_candidate}' +
  'Choose a different action from all of them.';

export interface DfsdtSettings extends AgentSettings {
  beam: number;
  maxLlmCalls: number;
  diversityTemplate: string;
}

// Returned up the recursion to stop the whole search at once.
const STOP_SEARCH = Number.POSITIVE_INFINITY;

interface SearchState {
  llmCalls: number;
  contextOverflows: number;
  finished: { steps: TrajectoryStep[]; finalAnswer: string } | null;
  lastPath: TrajectoryStep[];
  lastStop: StopReason;
  error?: string;
}

export async function runDfsdt(task: QueryTask, settings: DfsdtSettings): Promise<Trajectory> {
  const { functions, messages } = startConversation(task.query, settings.template, {}, settings.fitting);
  const state: SearchState = { llmCalls: 0, contextOverflows: 0, finished: null, lastPath: [], lastStop: 'budget' };
  await expand(task, settings, functions, state, messages, []);
  const budgetHit = state.llmCalls >= settings.maxLlmCalls;
  return {
    queryId: task.query.query_id,
    category: task.category,
    method: 'dfsdt',
    steps: state.finished?.steps ?? state.lastPath,
    finalAnswer: state.finished?.finalAnswer ?? '',
    stop: state.finished ? 'finish' : budgetHit ? 'budget' : state.lastStop,
    llmCalls: state.llmCalls,
    contextOverflows: state.contextOverflows,
    ...(state.error !== undefined ? { error: state.error } : {}),
  };
}

/** Expands the node reached by `path`; returns how many levels to back up (ToolBench's convention). */
async function expand(
  task: QueryTask,
  settings: DfsdtSettings,
  functions: readonly ToolFunction[],
  state: SearchState,
  messages: ToolLlamaMessage[],
  path: TrajectoryStep[],
): Promise<number> {
  const children: TrajectoryStep[] = [];
  for (let i = 0; i < settings.beam; i++) {
    if (state.llmCalls >= settings.maxLlmCalls) return STOP_SEARCH;
    const prompt = i === 0 ? messages : [...messages, diversityMessage(settings.diversityTemplate, children, path.at(-1))];
    const { completion, executed } = await modelStep(task, settings, functions, prompt, state.llmCalls);
    state.llmCalls++;
    if (!completion.ok) {
      // A failed model call prunes this child; ToolBench then tries the next one.
      if (completion.kind === 'context_overflow') state.contextOverflows++;
      state.lastStop = completion.kind === 'context_overflow' ? 'context_overflow' : 'policy_error';
      state.lastPath = path;
      state.error = completion.message;
      continue;
    }
    const step = executed!.step;
    children.push(step);
    const childPath = [...path, step];
    state.lastPath = childPath;
    if (executed!.finalAnswer !== undefined) {
      state.finished = { steps: childPath, finalAnswer: executed!.finalAnswer };
      return STOP_SEARCH;
    }
    let backUp: number;
    if (step.code === StatusCode.finishGiveUp) {
      state.lastStop = 'give_up';
      backUp = 2;
    } else if (childPath.length >= settings.maxSteps) {
      state.lastStop = 'budget';
      backUp = 1;
    } else {
      backUp = await expand(task, settings, functions, state, [...prompt, ...stepMessages(step)], childPath);
    }
    if (backUp > 1) return backUp - 1;
  }
  return 1;
}

/** The user message shown before a second or later child (marked invalid in ToolBench's data). */
function diversityMessage(template: string, children: TrajectoryStep[], nodeStep: TrajectoryStep | undefined): ToolLlamaMessage {
  const previous = children.map((c) => ({
    name: c.functionName ?? c.action,
    arguments: c.actionInput,
    function_output: c.observation,
    'mento-carlo-action-value': 0.0,
  }));
  let candidates = JSON.stringify(previous, null, 2);
  if (nodeStep !== undefined) candidates += `\nagain, your former observation: ${nodeStep.observation}\n`;
  return { role: 'user', content: template.replaceAll('{previous_candidate}', () => candidates) };
}
