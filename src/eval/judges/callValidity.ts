/**
 * Whether one step of a trajectory is a *successful valid call* (ruled-judge.md §2 "Call
 * validity"): an exactly named API function of the query, strict-JSON arguments that fit the API
 * entry, and a reply that is a real success rather than an error in disguise.
 */
import { apiToFunction, type ApiEntry, type ToolQuery } from '../../toolbench/functions.js';
import { checkArguments } from '../apiArguments.js';
import { parseToolInput } from '../envs/environment.js';
import { parseJsonAllowingControlChars } from '../executeAction.js';
import { parsePythonLiteral } from '../pythonLiteral.js';
import { StatusCode, type TrajectoryStep } from '../trajectory.js';

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

// StableToolBench's cache-filter words, narrowed as ruled-judge.md §2 describes.
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
  const index = query.api_list.findIndex((api) => apiToFunction(api).name === step.action);
  const api = index >= 0 ? query.api_list[index]! : null;
  const args = parseToolInput(step.actionInput);
  const lenient = args === null ? parseJsonAllowingControlChars(step.actionInput) : null;
  const repaired = lenient !== null && typeof lenient === 'object' && !Array.isArray(lenient);
  const valid = api !== null && args !== null && checkArguments(api, args) === null;
  return {
    api,
    functionName: api === null ? null : step.action,
    args,
    repaired,
    valid,
    success: valid && replySucceeded(step),
  };
}

/** Status 0, no error, a non-empty response that is not an error message in disguise. */
export function replySucceeded(step: TrajectoryStep): boolean {
  if (step.code !== StatusCode.ok || step.reply.error !== '') return false;
  const response = step.reply.response;
  const decoded = typeof response === 'string' ? decode(response) : response;
  if (isEmpty(decoded) || (typeof response === 'string' && response.trim() === '')) return false;
  const text = typeof response === 'string' ? response : JSON.stringify(response);
  const errorShaped =
    text.length < 200 ||
    (decoded !== null &&
      typeof decoded === 'object' &&
      !Array.isArray(decoded) &&
      Object.keys(decoded).every((k) => ERROR_KEYS.has(k.toLowerCase())));
  return !(errorShaped && FAILURE_PATTERN.test(text));
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parsePythonLiteral(text) ?? text;
  }
}

function isEmpty(v: unknown): boolean {
  if (v === '' || v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}
