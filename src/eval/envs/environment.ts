/**
 * The one interface every tool environment implements. The agent loop has already resolved the
 * model's action to an API entry of the query (Finish and unknown names never reach here); the
 * environment answers the call with ToolBench's `{error, response}` object and a status code.
 */
import type { ApiEntry, ToolQuery } from '../../toolbench/functions.js';
import { StatusCode, type ToolReply } from '../trajectory.js';

export interface ApiCall {
  query: ToolQuery;
  category: string;
  api: ApiEntry;
  /** The function name the model used, after resolution (`…_for_<tool>`). */
  functionName: string;
  /** The raw Action Input text, sent on as ToolBench does; the server parses it. */
  actionInput: string;
}

export interface EnvReply {
  reply: ToolReply;
  code: number;
  /** The observation text as recorded, when replaying; otherwise it is rendered from `reply`. */
  observation?: string;
}

export interface ToolEnvironment {
  /** Named in the report (e.g. `offline simulator`, `StableToolBench virtual server at …`). */
  readonly description: string;
  call(call: ApiCall): Promise<EnvReply>;
}

// The error labels ToolBench's client turns into non-zero codes (docs/toolbench-formats.md §d). Every other label,
// and a reply without error, keeps code 0.
const LABEL_CODES: Record<string, number> = {
  'API not working error...': StatusCode.apiNotWorking,
  'Unauthorized error...': StatusCode.unauthorized,
  'Unsubscribed error...': StatusCode.unsubscribed,
  'Too many requests error...': StatusCode.tooManyRequests,
  'Rate limit per minute error...': StatusCode.rateLimitPerMinute,
  'Message error...': StatusCode.messageError,
};

export function statusCodeForError(error: string): number {
  return LABEL_CODES[error] ?? StatusCode.ok;
}

/** Python's `json.loads` of a tool input as the servers read it: `""` is `{}`, else a JSON object. */
export function parseToolInput(actionInput: string): Record<string, unknown> | null {
  if (actionInput.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(actionInput);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export const TOOL_INPUT_PARSE_ERROR: ToolReply = { error: 'Tool input parse error...\n', response: '' };
