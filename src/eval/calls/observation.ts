/**
 * The observation text the model sees after a tool call: Python's `json.dumps(reply)` of the
 * `{"error", "response"}` object (ASCII-escaped, `", "` and `": "` separators), cut to 1,024
 * characters with `...` appended when longer (docs/toolbench-formats.md §d).
 */
import { MAX_NESTING, tooDeep } from './nesting.js';
import { pythonJsonDumps } from './pythonJson.js';
import type { ToolReply } from '../trajectory.js';

export const MAX_OBSERVATION_LENGTH = 1024;

export function observationText(reply: ToolReply): string {
  const text = pythonJsonDumps({ error: reply.error, response: reply.response });
  return text.length > MAX_OBSERVATION_LENGTH
    ? `${text.slice(0, MAX_OBSERVATION_LENGTH)}...`
    : text;
}

/**
 * The reply object behind an observation text, as far as it can be recovered. A text that was cut
 * (at 1,024 characters by ToolBench, shorter in ToolEval's converted answers) is no longer JSON:
 * its `error` is still read, a string response is decoded as far as it goes, and the reply is
 * marked `cut`, so the judges take from it only what survives whole.
 */
export function readObservation(text: string): ToolReply {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (tooDeep(value)) return { error: `reply nested deeper than ${MAX_NESTING} levels; not read`, response: '' };
      const obj = value as Record<string, unknown>;
      return { error: typeof obj.error === 'string' ? obj.error : '', response: obj.response ?? '' };
    }
  } catch {
    // Cut or not JSON: read the prefix below.
  }
  const body = text.length > MAX_OBSERVATION_LENGTH && text.endsWith('...') ? text.slice(0, -3) : text;
  const head = /^\{\s*"error"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"response"\s*:\s*/s.exec(body);
  if (!head) return { error: '', response: body, cut: true };
  const rest = body.slice(head[0].length);
  const response = rest.startsWith('"') ? jsonStringPrefix(rest) : rest;
  // The error text may hold raw control characters (not JSON): decoded as far as JSON allows.
  return { error: jsonStringPrefix(head[1]!), response, cut: true };
}

/** The decoded text of a JSON string literal cut short (an escape cut in half is dropped). */
function jsonStringPrefix(literal: string): string {
  const m = /^"((?:[^"\\]|\\(?:u[0-9a-fA-F]{4}|[^u]))*)/s.exec(literal)!;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    // A lone surrogate escape or a raw control character: keep the text undecoded.
    return m[1]!;
  }
}
