/**
 * Fitting policies: how the function list is shortened before it is printed into the system
 * prompt, so that more of ToolBench fits in OPT's 2,048 positions. One policy is applied, through
 * `fitFunctions`, both to training conversations and to evaluation prompts, and a checkpoint keeps
 * the one it was trained with (FITTING_POLICY_FILE) so the evaluation shows the model what it
 * learned. The default, `toolbench`, changes nothing: ToolBench's own rendering.
 *
 * Only the printed text changes. Names are never touched, and the environment still receives the
 * full functions, so a call is resolved and checked exactly as without a policy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstChars, unwrapDescription, type ParameterSchema, type ToolFunction } from './functions.js';

export interface FittingPolicy {
  /** Function descriptions keep only the API's own description, without ToolBench's preamble. */
  compact: boolean;
  /** Function and parameter descriptions cut to this many characters (null: ToolBench's 256). */
  descriptionChars: number | null;
  /** Optional parameters left out, as ToolBench already does for APIs without required ones. */
  dropOptional: boolean;
  /** `example_value` entries left out. */
  dropExamples: boolean;
}

/** The file a checkpoint keeps its fitting policy in (JSON), beside the prompt template. */
export const FITTING_POLICY_FILE = 'kiln_fitting_policy.json';

export const TOOLBENCH_FITTING: FittingPolicy = Object.freeze({
  compact: false,
  descriptionChars: null,
  dropOptional: false,
  dropExamples: false,
});

export const FITTING_SPEC_HELP =
  "'toolbench' (default: ToolBench's rendering) or a comma list of compact, desc=<chars>, no-optional, no-examples";

/** Parses `toolbench` or a comma list such as `compact,desc=64,no-examples`. */
export function parseFittingPolicy(spec: string): FittingPolicy {
  const policy: FittingPolicy = { ...TOOLBENCH_FITTING };
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`fitting policy ${JSON.stringify(spec)}: empty; expected ${FITTING_SPEC_HELP}`);
  for (const part of parts) {
    const desc = /^desc=(\d+)$/.exec(part);
    if (part === 'toolbench' && parts.length === 1) continue;
    if (part === 'compact') policy.compact = true;
    else if (part === 'no-optional') policy.dropOptional = true;
    else if (part === 'no-examples') policy.dropExamples = true;
    else if (desc && Number(desc[1]) > 0) policy.descriptionChars = Number(desc[1]);
    else throw new Error(`fitting policy ${JSON.stringify(spec)}: unknown part ${JSON.stringify(part)}; expected ${FITTING_SPEC_HELP}`);
  }
  return policy;
}

/** The canonical spec of a policy (parseFittingPolicy's inverse), used in reports and tables. */
export function fittingPolicyName(policy: FittingPolicy): string {
  const parts = [
    ...(policy.compact ? ['compact'] : []),
    ...(policy.descriptionChars !== null ? [`desc=${policy.descriptionChars}`] : []),
    ...(policy.dropOptional ? ['no-optional'] : []),
    ...(policy.dropExamples ? ['no-examples'] : []),
  ];
  return parts.length === 0 ? 'toolbench' : parts.join(',');
}

export function isToolBenchFitting(policy: FittingPolicy): boolean {
  return fittingPolicyName(policy) === 'toolbench';
}

/** The function list as the prompt prints it under `policy` (a copy; the input is not changed). */
export function fitFunctions(functions: readonly ToolFunction[], policy: FittingPolicy): ToolFunction[] {
  if (isToolBenchFitting(policy)) return [...functions];
  return functions.map((fn) => fitFunction(fn, policy));
}

function fitFunction(fn: ToolFunction, policy: FittingPolicy): ToolFunction {
  const description = policy.compact ? unwrapDescription(fn.description) : fn.description;
  const cut = (text: string): string => (policy.descriptionChars === null ? text : firstChars(text, policy.descriptionChars));
  const optional = new Set(fn.parameters.optional ?? []);
  const required = new Set(fn.parameters.required);
  const properties: Record<string, ParameterSchema> = {};
  for (const [name, schema] of Object.entries(fn.parameters.properties)) {
    if (policy.dropOptional && optional.has(name) && !required.has(name)) continue;
    const fitted: ParameterSchema = { ...schema };
    if (fitted.description !== undefined) fitted.description = cut(fitted.description);
    if (policy.dropExamples) delete fitted.example_value;
    properties[name] = fitted;
  }
  const parameters: ToolFunction['parameters'] = { type: fn.parameters.type, properties, required: [...fn.parameters.required] };
  if (fn.parameters.optional !== undefined) parameters.optional = policy.dropOptional ? [] : [...fn.parameters.optional];
  return { name: fn.name, description: cut(description), parameters };
}

/** The checkpoint's fitting policy file text. */
export function fittingPolicyFileText(policy: FittingPolicy): string {
  return `${JSON.stringify({ policy: fittingPolicyName(policy), ...policy }, null, 2)}\n`;
}

/** The fitting policy a checkpoint directory was trained with; ToolBench's when it has none. */
export function readFittingPolicy(dir: string): { policy: FittingPolicy; fromFile: boolean } {
  const path = join(dir, FITTING_POLICY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { policy: { ...TOOLBENCH_FITTING }, fromFile: false };
  }
  let spec: unknown;
  try {
    spec = (JSON.parse(text) as { policy?: unknown }).policy;
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof spec !== 'string') throw new Error(`${path}: field "policy" must be a string such as "compact,desc=64"`);
  try {
    return { policy: parseFittingPolicy(spec), fromFile: true };
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
