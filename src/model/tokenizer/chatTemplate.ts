/**
 * Chat templates: a tokenizer's Jinja template rendered with @huggingface/jinja as transformers'
 * apply_chat_template renders it (messages, tools, add_generation_prompt and the special tokens'
 * text), and the conversation tokenised with the assistant turns marked for the loss.
 *
 * Which characters are the assistant's: a template with `{% generation %}` blocks says so itself
 * (transformers' return_assistant_tokens_mask); kiln renders those blocks' bounds as marker
 * characters and removes them. Otherwise each assistant message's span runs from the end of the
 * generation prompt that precedes it (the conversation so far rendered with
 * add_generation_prompt) to the end-of-turn token (the tokenizer's EOS text) that closes it, so the
 * model learns to stop. When neither can be found the conversation is refused with the reason:
 * training never silently falls back to a mask that covers everything or nothing.
 */
import { Template } from '@huggingface/jinja';
import type { Tokenizer } from './tokenizer.js';

export interface ChatMessage {
  role: string;
  content?: string | null;
  tool_calls?: unknown[];
  name?: string;
  [key: string]: unknown;
}

export interface ChatRenderOptions {
  /** Function schemas, passed to the template as `tools`. */
  tools?: unknown[];
  addGenerationPrompt?: boolean;
  /** Further template variables (e.g. `enable_thinking` for Qwen3, `date_string` for Llama 3). */
  variables?: Record<string, unknown>;
}

/** Token ids of a rendered conversation and, per token, whether it is an assistant token (a loss target). */
export interface EncodedChat {
  ids: number[];
  assistant: boolean[];
  /** Per token, which assistant span (0, 1, ... in order) holds it, or -1. */
  assistantSpan: number[];
  /** How many assistant spans the conversation has; with `spanSource: 'messages'`, one per assistant message. */
  spanCount: number;
  /** Where the spans came from: the template's generation blocks, or the assistant messages. */
  spanSource: 'generation' | 'messages';
}

const START = '\uE000';
const END = '\uE001';
// transformers renders templates with trim_blocks and lstrip_blocks (as @huggingface/jinja does):
// a block tag drops the newline after it and the indentation before it. A generation tag turned
// into an expression would lose both, so the rewrite removes them itself.
const generationTag = /(?:^[ \t]*)?{%(-?)\s*(end)?generation\s*(-?)%}\n?/gm;
const hasGenerationTag = /{%-?\s*generation\s*-?%}/;

/** The template with its generation tags turned into expressions printing `start` and `end`. */
function markGenerations(template: string, start: string, end: string): string {
  return template.replace(generationTag, (_m, l: string, closing: string | undefined, r: string) => `{{${l} '${closing ? end : start}' ${r}}}`);
}

function templateOf(tokenizer: Tokenizer): string {
  if (tokenizer.chatTemplate === null) throw new Error('kiln: this tokenizer has no chat template (tokenizer_config.json chat_template or chat_template.jinja)');
  return tokenizer.chatTemplate;
}

const compiled = new Map<string, Template>();
function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    t = new Template(source);
    compiled.set(source, t);
  }
  return t;
}

function renderSource(source: string, tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatRenderOptions): string {
  const token = (id: number) => tokenizer.idToToken(id) ?? '';
  return compile(source).render({
    ...opts.variables,
    messages,
    ...(opts.tools ? { tools: opts.tools } : {}),
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: token(tokenizer.bosId),
    eos_token: token(tokenizer.eosId),
    pad_token: token(tokenizer.padId),
  });
}

/** The conversation as text, exactly as the template renders it. */
export function renderChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
  return renderSource(markGenerations(templateOf(tokenizer), '', ''), tokenizer, messages, opts);
}

/** Character spans of the assistant's text in the rendered conversation, and the text itself. */
export function assistantSpans(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): { text: string; spans: [number, number][]; spanSource: EncodedChat['spanSource'] } {
  const template = templateOf(tokenizer);
  for (const m of messages) {
    if (typeof m.content === 'string' && (m.content.includes(START) || m.content.includes(END))) throw new Error('kiln: a message contains U+E000/U+E001, which mark generation spans');
  }
  if (hasGenerationTag.test(template)) {
    const rendered = renderSource(markGenerations(template, START, END), tokenizer, messages, opts);
    const spans: [number, number][] = [];
    let text = '';
    let open = -1;
    for (const ch of rendered) {
      if (ch === START) open = text.length;
      else if (ch === END) {
        if (open < 0) throw new Error('kiln: chat template closes a generation block it did not open');
        spans.push([open, text.length]);
        open = -1;
      } else text += ch;
    }
    return { text, spans, spanSource: 'generation' };
  }
  const text = renderChat(tokenizer, messages, opts);
  const eosText = tokenizer.idToToken(tokenizer.eosId) ?? '';
  const spans: [number, number][] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const prompt = renderChat(tokenizer, messages.slice(0, i), { ...opts, addGenerationPrompt: true });
    if (!text.startsWith(prompt)) {
      throw new Error(`kiln: the chat template renders the conversation before assistant message ${i} differently once it continues; add {% generation %} blocks to the template to mark the assistant's tokens`);
    }
    const end = eosText ? text.indexOf(eosText, prompt.length) : -1;
    if (end < 0) throw new Error(`kiln: assistant message ${i} is not closed by the EOS token ${JSON.stringify(eosText)} in the rendered chat`);
    spans.push([prompt.length, end + eosText.length]);
  });
  return { text, spans, spanSource: 'messages' };
}

/**
 * The conversation's tokens with the assistant's marked. The text is encoded piece by piece at the
 * span bounds, which must give the tokens of the whole text (a bound inside a token is refused).
 */
export function encodeChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): EncodedChat {
  const { text, spans, spanSource } = assistantSpans(tokenizer, messages, opts);
  if (spans.length === 0) throw new Error('kiln: the conversation has no assistant turn to train on');
  const ids: number[] = [];
  const assistantSpan: number[] = [];
  let at = 0;
  const piece = (end: number, span: number) => {
    if (end <= at) return;
    for (const id of tokenizer.encode(text.slice(at, end), { addBos: false })) {
      ids.push(id);
      assistantSpan.push(span);
    }
    at = end;
  };
  spans.forEach(([start, end], k) => {
    piece(start, -1);
    piece(end, k);
  });
  piece(text.length, -1);
  const assistant = assistantSpan.map((k) => k >= 0);
  const whole = tokenizer.encode(text, { addBos: false });
  if (whole.length !== ids.length || whole.some((id, i) => id !== ids[i])) {
    throw new Error('kiln: an assistant span of the chat template starts or ends inside a token; its tokens cannot be marked exactly');
  }
  return { ids, assistant, assistantSpan, spanCount: spans.length, spanSource };
}
