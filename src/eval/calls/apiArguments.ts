/**
 * Checking a call's arguments against its API entry, shared by the offline simulator (which
 * answers a bad call with an error) and the rule judge (which counts it as invalid), so the two
 * agree on what a valid call is (docs/judge.md).
 *
 * Names are compared after `change_name(standardize(·))`, the form the model sees. Names are
 * checked against the API entry's required ∪ optional parameters, not the function schema:
 * ToolBench's converter hides the optional parameters of APIs with no required ones, yet the real
 * tool accepts them.
 */
import { changeName, standardize, type ApiEntry, type ApiParameter } from '../../toolbench/functions.js';

export type ArgumentProblem =
  | { kind: 'missing'; parameter: string }
  | { kind: 'unexpected'; parameter: string }
  | { kind: 'type'; parameter: string; expected: string; got: unknown };

export function parameterKey(param: ApiParameter): string {
  return changeName(standardize(param.name));
}

/** The first problem found, or null when the arguments are valid for the API. */
export function checkArguments(api: ApiEntry, args: Record<string, unknown>): ArgumentProblem | null {
  const known = new Map<string, ApiParameter>();
  for (const p of [...api.required_parameters, ...api.optional_parameters]) {
    if (!known.has(parameterKey(p))) known.set(parameterKey(p), p);
  }
  for (const name of Object.keys(args)) {
    if (!known.has(name)) return { kind: 'unexpected', parameter: name };
  }
  // An empty string counts as present: ChatGPT trajectories that ToolEval passed send `"cursor": ""`.
  for (const p of api.required_parameters) {
    const value = args[parameterKey(p)];
    if (value === undefined || value === null) return { kind: 'missing', parameter: parameterKey(p) };
  }
  for (const [name, value] of Object.entries(args)) {
    const type = known.get(name)!.type;
    if (!valueFitsType(type, value)) return { kind: 'type', parameter: name, expected: type, got: value };
  }
  return null;
}

/**
 * NUMBER takes a number or numeric string; BOOLEAN a boolean, "true"/"false" or 0/1; ARRAY and
 * OBJECT anything; every other label any scalar.
 */
function valueFitsType(type: string, value: unknown): boolean {
  if (value === null) return true;
  if (type === 'NUMBER') {
    return (
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    );
  }
  if (type === 'BOOLEAN') {
    return typeof value === 'boolean' || value === 'true' || value === 'false' || value === 0 || value === 1;
  }
  if (type === 'ARRAY' || type === 'OBJECT') return true;
  return typeof value !== 'object';
}
