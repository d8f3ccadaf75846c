/**
 * The demo's own check beside the rule judge. The judge asks whether the final answer cites values
 * the tools returned; the offline simulator answers any well-formed call, so a call with the wrong
 * city still returns a number to cite. The demo knows what each held-out query asks, so it can
 * also ask whether every call the query needs was made with the arguments its text states.
 */
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
