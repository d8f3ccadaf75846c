/**
 * A minimal client for OpenAI-compatible chat completions (`POST <base>/chat/completions`), used by
 * the OpenAI policy and the LLM judge. The key comes from the caller (read from the environment by
 * the CLI) and travels only in the Authorization header; errors never include it.
 */
import { postJson, redactUrl } from '../httpJson.js';

export interface ChatEndpoint {
  /** The base URL (`http://host:8000/v1`) or the full `…/chat/completions` URL. */
  url: string;
  apiKey?: string;
  model: string;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  log?: (line: string) => void;
}

export interface ChatReply {
  content: string;
  /** The first tool or function call of the reply, if any. */
  call?: { name: string; arguments: string };
}

export function chatCompletionsUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/chat/completions') ? trimmed : `${trimmed}/chat/completions`;
}

/** Sends one request; `extra` adds fields such as tools, tool_choice, temperature, max_tokens. */
export async function chatCompletion(
  endpoint: ChatEndpoint,
  messages: { role: string; content: string; name?: string }[],
  extra: Record<string, unknown> = {},
): Promise<ChatReply> {
  const url = chatCompletionsUrl(endpoint.url);
  const headers: Record<string, string> = endpoint.apiKey ? { Authorization: `Bearer ${endpoint.apiKey}` } : {};
  const result = await postJson(url, headers, { model: endpoint.model, messages, ...extra }, {
    timeoutMs: endpoint.timeoutMs ?? 60_000,
    attempts: endpoint.attempts ?? 3,
    retryDelayMs: endpoint.retryDelayMs ?? 1000,
    log: endpoint.log,
  });
  const where = `chat completions at ${redactUrl(url)}`;
  if (result.kind !== 'reply') throw new Error(`${where}: ${result.message}`);
  if (result.status !== 200) throw new Error(`${where}: HTTP ${result.status}`);
  let body: unknown;
  try {
    body = JSON.parse(result.text);
  } catch {
    throw new Error(`${where}: the reply is not JSON`);
  }
  const message = (body as { choices?: { message?: Record<string, unknown> }[] }).choices?.[0]?.message;
  if (message === undefined) throw new Error(`${where}: the reply has no choices[0].message`);
  const toolCall = (message.tool_calls as { function?: { name?: string; arguments?: string } }[] | undefined)?.[0]?.function;
  const legacyCall = message.function_call as { name?: string; arguments?: string } | undefined;
  const call = toolCall ?? legacyCall;
  return {
    content: typeof message.content === 'string' ? message.content : '',
    ...(call ? { call: { name: String(call.name ?? ''), arguments: String(call.arguments ?? '') } } : {}),
  };
}
