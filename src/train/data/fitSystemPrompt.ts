/**
 * A fitting policy (toolbench/fitting.ts) applied to a training conversation: the function list in
 * its system prompt is read back (Python repr), fitted by the same `fitFunctions` the evaluation
 * uses, and printed again, so training and evaluation prompts are shortened identically.
 */
import { fitFunctions, isToolBenchFitting, type FittingPolicy } from '../../toolbench/fitting.js';
import type { ToolFunction } from '../../toolbench/functions.js';
import { parsePythonLiteral } from '../../toolbench/pythonLiteral.js';
import { pythonRepr } from '../../toolbench/pythonRepr.js';
import type { ToolLlamaConversation } from '../../toolbench/render.js';
import { findFunctionList } from './functionListText.js';

export interface FittedConversation {
  conv: ToolLlamaConversation;
  /** False when the system prompt holds no function list that reads back as functions. */
  applied: boolean;
}

/** The conversation with its system prompt's function list fitted; unchanged under `toolbench`. */
export function fitConversation(conv: ToolLlamaConversation, policy: FittingPolicy): FittedConversation {
  if (isToolBenchFitting(policy)) return { conv, applied: true };
  const sysIndex = conv.conversations.findIndex((t) => t.from === 'system');
  if (sysIndex < 0) return { conv, applied: false };
  const system = conv.conversations[sysIndex]!.value;
  const list = findFunctionList(system);
  if (list === null) return { conv, applied: false };
  const functions = parsePythonLiteral(system.slice(list.start, list.end), { exactNumbers: true });
  if (!Array.isArray(functions) || !functions.every(isToolFunction)) return { conv, applied: false };
  const fitted = `${system.slice(0, list.start)}${pythonRepr(fitFunctions(functions, policy))}${system.slice(list.end)}`;
  const conversations = conv.conversations.map((t, i) => (i === sysIndex ? { ...t, value: fitted } : t));
  return { conv: { ...conv, conversations }, applied: true };
}

function isToolFunction(value: unknown): value is ToolFunction {
  if (typeof value !== 'object' || value === null) return false;
  const fn = value as Partial<ToolFunction>;
  const params = fn.parameters;
  return (
    typeof fn.name === 'string' &&
    typeof fn.description === 'string' &&
    typeof params === 'object' &&
    params !== null &&
    typeof params.properties === 'object' &&
    params.properties !== null &&
    Array.isArray(params.required)
  );
}
