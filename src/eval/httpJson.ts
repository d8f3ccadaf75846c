/**
 * POSTing JSON with a timeout, retries and a cap on the reply's size, for the tool servers and the
 * OpenAI-compatible endpoints. Secrets travel only in the headers and body given by the caller:
 * credentials written into the URL are taken out of it (user info becomes a Basic Authorization
 * header when the caller sets none), registered as secrets, and every message this module makes —
 * Node's fetch errors included, which quote the URL — is scrubbed of them.
 */
import { decodeUrlPart, registerUrlSecrets, scrubSecrets } from './secrets.js';

export interface PostOptions {
  /** Milliseconds before one attempt is abandoned (reading the body included); 0 waits forever. */
  timeoutMs: number;
  /** Attempts in all (1 = no retry). Network errors, timeouts, 429 and 5xx are retried. */
  attempts: number;
  /** Pause before a retry, doubled each time. */
  retryDelayMs: number;
  /** Bytes of the reply body kept; the rest is never read. Default 16 MiB. */
  maxBytes?: number;
  log?: (line: string) => void;
}

export type PostResult =
  | { kind: 'reply'; status: number; text: string; /** The body was longer than maxBytes and was cut. */ truncated?: boolean }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  options: PostOptions,
): Promise<PostResult> {
  registerUrlSecrets(url);
  const target = withoutUserInfo(url, headers);
  let last: PostResult = { kind: 'network', message: 'no attempt made' };
  for (let attempt = 1; attempt <= Math.max(1, options.attempts); attempt++) {
    if (attempt > 1) await sleep(options.retryDelayMs * 2 ** (attempt - 2));
    last = await postOnce(target.url, target.headers, body, options.timeoutMs, options.maxBytes ?? DEFAULT_MAX_REPLY_BYTES);
    if (last.kind !== 'reply') {
      const quoted = last.message.split(url).join(redactUrl(url)).split(target.url).join(redactUrl(url));
      last = { ...last, message: scrubSecrets(quoted) };
    }
    const retryable = last.kind !== 'reply' || last.status === 429 || last.status >= 500;
    if (!retryable) return last;
    const what = last.kind === 'reply' ? `HTTP ${last.status}` : last.message;
    options.log?.(`POST ${redactUrl(url)}: attempt ${attempt}/${options.attempts} failed (${what})`);
  }
  return last;
}

/** The URL without user info, which fetch refuses; the user info moves into a Basic header. */
function withoutUserInfo(url: string, headers: Record<string, string>): { url: string; headers: Record<string, string> } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, headers };
  }
  if (parsed.username === '' && parsed.password === '') return { url, headers };
  const basic = Buffer.from(`${decodeUrlPart(parsed.username)}:${decodeUrlPart(parsed.password)}`).toString('base64');
  parsed.username = '';
  parsed.password = '';
  const hasAuth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
  return { url: parsed.href, headers: hasAuth ? headers : { ...headers, Authorization: `Basic ${basic}` } };
}

async function postOnce(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number,
  maxBytes: number,
): Promise<PostResult> {
  const controller = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(), timeoutMs) : undefined;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    const { text, truncated } = await readCapped(res, maxBytes);
    return { kind: 'reply', status: res.status, text, ...(truncated ? { truncated } : {}) };
  } catch (e) {
    if (controller.signal.aborted) return { kind: 'timeout', message: `timed out after ${timeoutMs} ms` };
    // The cause of a fetch failure (ECONNREFUSED, …) says more than "fetch failed".
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return { kind: 'network', message: `${e instanceof Error ? e.message : String(e)}${cause}` };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The body's first `maxBytes` bytes as text; the rest is not read (the stream is cancelled). */
async function readCapped(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  // A character cut in half at the cap is dropped rather than shown as U+FFFD.
  const text = new TextDecoder().decode(Buffer.concat(chunks), { stream: truncated });
  return { text, truncated };
}

/** The URL without user info or query string, which may carry credentials. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
