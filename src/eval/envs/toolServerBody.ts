/**
 * What ToolBench's RapidAPI server and StableToolBench's virtual server share (FORMAT.md §e): the
 * request body (six string fields, the tool and API names normalised as the server expects) and
 * how an answer, a timeout or a broken reply becomes the observation ToolBench would record.
 */
import { changeName, standardize } from '../../toolbench/functions.js';
import type { PostResult } from '../httpJson.js';
import { StatusCode } from '../trajectory.js';
import { statusCodeForError, type ApiCall, type EnvReply } from './environment.js';

export interface ToolServerBody {
  category: string;
  tool_name: string;
  api_name: string;
  tool_input: string;
  strip: string;
  toolbench_key: string;
}

export function toolServerBody(call: ApiCall, strip: string, key: string): ToolServerBody {
  return {
    category: call.api.category_name,
    tool_name: standardize(call.api.tool_name),
    // The pure API name, not the `_for_` function name.
    api_name: changeName(standardize(call.api.api_name)),
    tool_input: call.actionInput,
    strip,
    toolbench_key: key,
  };
}

/** Reads a server's `{error, response}` reply; null when the text is not such an object. */
export function readToolReply(text: string): { error: string; response: unknown } | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const obj = value as Record<string, unknown>;
    return { error: typeof obj.error === 'string' ? obj.error : String(obj.error ?? ''), response: obj.response ?? '' };
  } catch {
    return null;
  }
}

/** The observation and status code for a tool server's answer to one call. */
export function envReplyFromServer(result: PostResult): EnvReply {
  if (result.kind === 'timeout') {
    return { reply: { error: `Timeout error...${result.message}`, response: '' }, code: StatusCode.timeout };
  }
  const reply = result.kind === 'reply' && result.status === 200 ? readToolReply(result.text) : null;
  if (reply === null) {
    const status = result.kind === 'reply' ? result.status : 0;
    return { reply: { error: `request invalid, data error. status_code=${status}`, response: '' }, code: StatusCode.httpError };
  }
  return { reply, code: statusCodeForError(reply.error) };
}
