/**
 * The demo's own checks beside the rule judge. The judge asks whether the final answer cites values
 * the tools returned; the offline simulator answers any well-formed call, so a call with the wrong
 * city still returns a number to cite, and an answer citing it under another topic's word
 * (`calories 44.` for the fixtures) still cites it. The demo knows what each held-out query asks,
 * so it can also ask whether every call the query needs was made with the arguments its text
 * states, and whether the answer names every topic the query asks about.
 */
import { readFinishArguments } from '../../src/eval/calls/actionInput.js';
import { parseToolInput } from '../../src/eval/envs/environment.js';
import type { QueryResult } from '../../src/eval/report/results.js';
import type { ExpectedCall } from './data.js';

/** Whether each expected call appears among the trajectory's calls, to that function, with exactly those arguments. */
export function madeExpectedCalls(result: QueryResult, expected: readonly ExpectedCall[]): boolean {
  const made = result.trajectory.steps
    .filter((s) => s.functionName !== null)
    .map((s) => ({ name: s.functionName!, args: parseToolInput(s.actionInput) }));
  return expected.every((call) => made.some((m) => m.name === call.function && m.args !== null && sameArguments(m.args, call.arguments)));
}

function sameArguments(made: Record<string, unknown>, expected: Record<string, string | number>): boolean {
  const keys = Object.keys(expected);
  return Object.keys(made).length === keys.length && keys.every((k) => Object.hasOwn(made, k) && String(made[k]) === String(expected[k]));
}

/** Whether the final answer names, as a word, the topic of every call the query needs. */
export function namesAskedTopics(result: QueryResult, expected: readonly ExpectedCall[]): boolean {
  // The trajectory keeps Finish's whole input, as ToolBench's answer records do.
  const { finalAnswer } = readFinishArguments(result.trajectory.finalAnswer);
  const answer = typeof finalAnswer === 'string' ? finalAnswer : '';
  const words = new Set(answer.toLowerCase().split(/[^\p{L}\p{N}]+/u));
  return expected.every((call) => words.has(call.topic.toLowerCase()));
}
