/**
 * Whether one step of a trajectory is a *successful valid call* (docs/judge.md, "Call validity"):
 * an exactly named API function of the query (a digit's `get_` aside), strict-JSON arguments that
 * fit the API entry, and a reply that parses, is not an error, and is not an error in disguise.
 * A reply cut short succeeds only if some value survives the cut whole.
 */
import { queryFunctions, type ApiEntry, type ToolQuery } from '../../toolbench/functions.js';
import { checkArguments } from '../calls/apiArguments.js';
import { parseToolInput } from '../envs/environment.js';
import { parseJsonAllowingControlChars } from '../calls/actionInput.js';
import { sameFunction } from '../recorded/functionNames.js';
import { StatusCode, type TrajectoryStep } from '../trajectory.js';
import { replyLeaves } from './evidence.js';

export interface CallCheck {
  /** The API entry the name resolves to exactly, or null (a hallucinated name). */
  api: ApiEntry | null;
  functionName: string | null;
  args: Record<string, unknown> | null;
  /** Arguments that only a lenient reading (raw control characters) could parse. */
  repaired: boolean;
  valid: boolean;
  success: boolean;
}

// StableToolBench's cache-filter words, narrowed to the ones that name a failure (docs/judge.md).
const FAILURE_PATTERN = new RegExp(
  [
    'rate limit', 'time out', 'timed out', 'does not exist', 'internal error', 'service not found',
    'authoriz', 'authenticat', 'blocked', 'unsubscribe', 'credential', 'invalid parameter',
    'missing parameter', 'parse error', 'is not defined', 'not found',
    'status_code=(5\\d\\d|429)', '(http|error) ?[45]\\d\\d',
  ].join('|'),
  'i',
);
const ERROR_KEYS = new Set(['message', 'error', 'detail', 'status', 'msg', 'code', 'errors']);

export function checkCall(step: TrajectoryStep, query: ToolQuery): CallCheck {
  const functions = queryFunctions(query);
  const index = functions.findIndex((f) => f.name !== 'Finish' && sameFunction(f.name, step.action));
  const api = index >= 0 ? (query.api_list[index] ?? null) : null;
  const args = parseToolInput(step.actionInput);
  const lenient = args === null ? parseJsonAllowingControlChars(step.actionInput) : null;
  const repaired = lenient !== null && typeof lenient === 'object' && !Array.isArray(lenient);
  const valid = api !== null && args !== null && checkArguments(api, args) === null;
  return {
    api,
    functionName: api === null ? null : functions[index]!.name,
    args,
    repaired,
    valid,
    success: valid && replySucceeded(step),
  };
}

/**
 * Status 0, no error, a response that parses (or is plain text) with at least one non-empty value
 * that survives whole, and that is not an error message in disguise.
 */
export function replySucceeded(step: TrajectoryStep): boolean {
  if (step.code !== StatusCode.ok || step.reply.error !== '') return false;
  const response = step.reply.response;
  const cut = step.reply.cut === true;
  const leaves = replyLeaves(response, cut);
  const strings = leaves.strings.filter((s) => /[\p{L}\p{N}]/u.test(s));
  if (strings.length === 0 && leaves.numbers.length === 0) return false;
  // What survived is all that may be judged: a cut reply is checked on its whole values only.
  const text = cut ? [...strings, ...leaves.numbers.map(String)].join(' ') : typeof response === 'string' ? response : safeJson(response);
  const decoded = leaves.decoded ?? null;
  const errorShaped =
    text.length < 200 ||
    (decoded !== null &&
      typeof decoded === 'object' &&
      !Array.isArray(decoded) &&
      Object.keys(decoded).every((k) => ERROR_KEYS.has(k.toLowerCase())));
  return !(errorShaped && FAILURE_PATTERN.test(text));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
