/**
 * Client of StableToolBench's virtual API server (docs/toolbench-formats.md §e): `POST <url>` (e.g.
 * `http://localhost:8080/virtual`, StableToolBench reads it from SERVICE_URL) with the same six
 * fields as the RapidAPI server. The reply's `response` may be a string or any JSON value and is
 * kept as it is. StableToolBench sets no timeout for this server; kiln sets a generous one and
 * retries, and reports a final timeout as code 5 as StableToolBench does for its other backends.
 */
import { postJson, redactUrl } from '../httpJson.js';
import type { ApiCall, EnvReply, ToolEnvironment } from './environment.js';
import { DEFAULT_TOOL_REPLY_BYTES, envReplyFromServer, toolServerBody } from './toolServerBody.js';

export interface StableToolBenchOptions {
  url: string;
  /** Sent as `toolbench_key`; the virtual server does not check it, so it may be empty. Never logged. */
  key?: string;
  strip?: string;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  /** Bytes of a reply kept when it is read (`--max-reply-bytes`); the rest is dropped. */
  maxReplyBytes?: number;
  log?: (line: string) => void;
}

export class StableToolBenchClient implements ToolEnvironment {
  readonly description: string;

  constructor(private readonly options: StableToolBenchOptions) {
    this.description = `StableToolBench virtual API server at ${redactUrl(options.url)}`;
  }

  async call(call: ApiCall): Promise<EnvReply> {
    const o = this.options;
    const key = o.key ?? '';
    const result = await postJson(
      o.url,
      key === '' ? {} : { toolbench_key: key },
      toolServerBody(call, o.strip ?? 'truncate', key),
      { timeoutMs: o.timeoutMs ?? 120_000, attempts: o.attempts ?? 3, retryDelayMs: o.retryDelayMs ?? 1000, maxBytes: o.maxReplyBytes ?? DEFAULT_TOOL_REPLY_BYTES, log: o.log },
    );
    return envReplyFromServer(result);
  }
}
