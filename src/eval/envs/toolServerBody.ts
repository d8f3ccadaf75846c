/**
 * What ToolBench's RapidAPI server and StableToolBench's virtual server share
 * (docs/toolbench-formats.md §e): the request body (six string fields, the tool and API names
 * normalised as the server expects) and how an answer, a timeout or a broken reply becomes the
 * observation ToolBench would record. A reply nested past any real one is refused with an error,
 * a reply cut at the size cap keeps what survives (marked `cut`), and known secrets a server
 * echoes back are scrubbed before anything is stored.
 */
import { changeName, standardize } from '../../toolbench/functions.js';
import type { PostResult } from '../httpJson.js';
import { MAX_NESTING, tooDeep } from '../calls/nesting.js';
import { readObservation } from '../calls/observation.js';
import { scrubValue } from '../secrets.js';
import { StatusCode } from '../trajectory.js';
import { statusCodeForError, type ApiCall, type EnvReply } from './environment.js';

/** A tool reply's size cap when none is given: far above any observation (ToolBench cuts at 1,024 characters). */
export const DEFAULT_TOOL_REPLY_BYTES = 1024 * 1024;

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
    if (tooDeep(value)) return { error: `the reply is nested deeper than ${MAX_NESTING} levels; not read`, response: '' };
    const obj = value as Record<string, unknown>;
    const error = obj.error;
    return { error: typeof error === 'string' ? error : error === undefined || error === null ? '' : JSON.stringify(error), response: obj.response ?? '' };
  } catch {
    return null;
  }
}

/** The observation and status code for a tool server's answer to one call. */
export function envReplyFromServer(result: PostResult): EnvReply {
  if (result.kind === 'timeout') {
    return { reply: { error: `Timeout error...${result.message}`, response: '' }, code: StatusCode.timeout };
  }
  if (result.kind === 'reply' && result.status === 200 && result.truncated) {
    const reply = scrubValue(readObservation(result.text));
    return { reply: { ...reply, cut: true }, code: statusCodeForError(reply.error) };
  }
  const reply = result.kind === 'reply' && result.status === 200 ? readToolReply(result.text) : null;
  if (reply === null) {
    const status = result.kind === 'reply' ? result.status : 0;
    return { reply: { error: `request invalid, data error. status_code=${status}`, response: '' }, code: StatusCode.httpError };
  }
  const scrubbed = scrubValue(reply);
  return { reply: scrubbed, code: statusCodeForError(scrubbed.error) };
}
