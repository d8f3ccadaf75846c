/**
 * Client of ToolBench's hosted RapidAPI server (docs/toolbench-formats.md §e): `POST <url>` (e.g.
 * `http://<host>:8080/rapidapi`) with the ToolBench key in the `toolbench_key` header and body.
 * ToolBench's client waits 2 s before every call (the server allows 30 calls a minute), gives up
 * after 15 s, and turns a non-200 or undecodable reply into code 12. kiln adds retries for network
 * errors, timeouts and 5xx; a timeout that survives them becomes code 5.
 */
import { postJson, redactUrl, sleep } from '../httpJson.js';
import { StatusCode } from '../trajectory.js';
import type { ApiCall, EnvReply, ToolEnvironment } from './environment.js';
import { DEFAULT_TOOL_REPLY_BYTES, envReplyFromServer, toolServerBody } from './toolServerBody.js';

export interface RapidApiOptions {
  url: string;
  /** The ToolBench key (the CLI reads it from TOOLBENCH_KEY). Never logged. */
  key: string;
  /** `truncate`, `filter` or `random` (docs/toolbench-formats.md §e). */
  strip?: string;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  /** Bytes of a reply kept when it is read (`--max-reply-bytes`); the rest is dropped. */
  maxReplyBytes?: number;
  /** Pause before every call; ToolBench uses 2,000 ms. */
  callDelayMs?: number;
  /** Pause after a "Rate limit per minute" reply; ToolBench uses 10,000 ms. */
  rateLimitDelayMs?: number;
  log?: (line: string) => void;
}

export class RapidApiClient implements ToolEnvironment {
  readonly description: string;

  constructor(private readonly options: RapidApiOptions) {
    if (options.key === '') throw new Error('RapidAPI environment: no ToolBench key (set TOOLBENCH_KEY)');
    this.description = `ToolBench RapidAPI server at ${redactUrl(options.url)}`;
  }

  async call(call: ApiCall): Promise<EnvReply> {
    const o = this.options;
    await sleep(o.callDelayMs ?? 2000);
    const result = await postJson(
      o.url,
      { toolbench_key: o.key },
      toolServerBody(call, o.strip ?? 'truncate', o.key),
      { timeoutMs: o.timeoutMs ?? 15_000, attempts: o.attempts ?? 3, retryDelayMs: o.retryDelayMs ?? 1000, maxBytes: o.maxReplyBytes ?? DEFAULT_TOOL_REPLY_BYTES, log: o.log },
    );
    const answer = envReplyFromServer(result);
    if (answer.code === StatusCode.rateLimitPerMinute) await sleep(o.rateLimitDelayMs ?? 10_000);
    return answer;
  }
}
