/**
 * POSTing JSON with a timeout and retries, for the tool servers and the OpenAI-compatible
 * endpoints. Secrets travel only in the headers and body given by the caller; this module's
 * errors and log lines name the URL, the attempt and the status, never a header or the body.
 */

export interface PostOptions {
  /** Milliseconds before one attempt is abandoned; 0 waits forever. */
  timeoutMs: number;
  /** Attempts in all (1 = no retry). Network errors, timeouts, 429 and 5xx are retried. */
  attempts: number;
  /** Pause before a retry, doubled each time. */
  retryDelayMs: number;
  log?: (line: string) => void;
}

export type PostResult =
  | { kind: 'reply'; status: number; text: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  options: PostOptions,
): Promise<PostResult> {
  let last: PostResult = { kind: 'network', message: 'no attempt made' };
  for (let attempt = 1; attempt <= Math.max(1, options.attempts); attempt++) {
    if (attempt > 1) await sleep(options.retryDelayMs * 2 ** (attempt - 2));
    last = await postOnce(url, headers, body, options.timeoutMs);
    const retryable = last.kind !== 'reply' || last.status === 429 || last.status >= 500;
    if (!retryable) return last;
    const what = last.kind === 'reply' ? `HTTP ${last.status}` : last.message;
    options.log?.(`POST ${redactUrl(url)}: attempt ${attempt}/${options.attempts} failed (${what})`);
  }
  return last;
}

async function postOnce(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number,
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
    return { kind: 'reply', status: res.status, text: await res.text() };
  } catch (e) {
    if (controller.signal.aborted) return { kind: 'timeout', message: `timed out after ${timeoutMs} ms` };
    // The cause of a fetch failure (ECONNREFUSED, …) says more than "fetch failed".
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return { kind: 'network', message: `${e instanceof Error ? e.message : String(e)}${cause}` };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
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
