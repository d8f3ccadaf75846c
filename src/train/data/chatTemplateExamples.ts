/**
 * Training examples for models with a chat template (the Llama family): a ToolLLaMA conversation
 * becomes chat messages (function turns are `tool` messages; the assistant's ReAct text is its
 * content; the system prompt keeps its function list), rendered through the tokenizer's own
 * template, and the targets are the assistant's tokens as chatTemplate.ts marks them (the
 * template's generation blocks, else each assistant turn through its end-of-turn token). The
 * ToolLLaMA text form stays for OPT.
 *
 * An example longer than the context is dropped under either overlong policy (the observation and
 * function-list cuts of overlong.ts work on ToolLLaMA's text, not on a template's), and counted.
 */
import { type ChatMessage, encodeChat } from '../../model/tokenizer/chatTemplate.js';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import type { LossOn, ToolLlamaConversation } from '../../toolbench/render.js';
import type { FitOptions, FitOutcome } from './overlong.js';
import { IGNORE_INDEX } from './tokenizeExample.js';

/** The conversation as the chat messages a template renders. */
export function conversationMessages(conv: ToolLlamaConversation): ChatMessage[] {
  return conv.conversations.map((t) => ({ role: t.from === 'function' ? 'tool' : t.from, content: t.value }));
}

/** Which assistant turns are targets under `lossOn`, as a mask over the encoded tokens. */
function targetMask(assistant: readonly boolean[], lossOn: LossOn): boolean[] {
  if (lossOn === 'all') return assistant.map(() => true);
  if (lossOn === 'assistant') return [...assistant];
  // last-assistant: only the last run of assistant tokens.
  const mask = assistant.map(() => false);
  let i = assistant.lastIndexOf(true);
  while (i >= 0 && assistant[i]) mask[i--] = true;
  return mask;
}

/**
 * Each assistant span's loss weight: the weight of the assistant turn it renders. Spans pair with
 * assistant turns one to one, in order, unless a template's generation blocks say otherwise; then
 * a turn of weight 0 cannot be placed, and the conversation is refused rather than trained on whole.
 */
function spanWeights(conv: ToolLlamaConversation, spanCount: number): number[] {
  const weights = conv.conversations.filter((t) => t.from === 'assistant').map((t) => t.weight ?? 1);
  if (!weights.includes(0)) return Array.from({ length: spanCount }, () => 1);
  if (weights.length !== spanCount) {
    throw new Error(
      `conversation ${conv.id}: an assistant turn has weight 0, but the chat template marks ${spanCount} generation spans for ${weights.length} assistant turns, so which tokens to leave out is unknown`,
    );
  }
  return weights;
}

/** fitExample's counterpart for a chat template: render, mark the assistant, drop what does not fit. */
export function fitChatExample(tokenizer: Tokenizer, conv: ToolLlamaConversation, options: FitOptions): FitOutcome {
  let encoded;
  try {
    encoded = encodeChat(tokenizer, conversationMessages(conv));
  } catch (err) {
    throw new Error(`conversation ${conv.id}: ${(err as Error).message}`);
  }
  const ids = tokenizer.addsBos ? [tokenizer.bosId, ...encoded.ids] : encoded.ids;
  const assistant = tokenizer.addsBos ? [false, ...encoded.assistant] : encoded.assistant;
  const spanOf = tokenizer.addsBos ? [-1, ...encoded.assistantSpan] : encoded.assistantSpan;
  const weights = spanWeights(conv, encoded.spanCount);
  const mask = targetMask(assistant, options.lossOn).map((target, i) => target && (options.lossOn === 'all' || weights[spanOf[i]!] !== 0));
  // The opening, for the pre-flight: the tokens before the first assistant token.
  const firstAssistant = assistant.indexOf(true);
  const lengths = { total: ids.length, opening: firstAssistant < 0 ? ids.length : firstAssistant };
  if (ids.length > options.maxTokens) return { action: 'dropped', tokensBefore: ids.length, lengths };
  return {
    action: 'kept',
    example: { inputIds: Int32Array.from(ids), labels: Int32Array.from(ids, (id, i) => (mask[i] ? id : IGNORE_INDEX)) },
    lengths,
  };
}
