/**
 * Prompts for models with a chat template (the Llama family): the agent's messages rendered by
 * the tokenizer's own template with the generation prompt, the form training gave them
 * (src/train/data/chatTemplateExamples.ts: function results are `tool` messages, the assistant's
 * ReAct text its content). The model's reply ends at its end-of-turn token.
 */
import { renderChat } from '../../model/tokenizer/chatTemplate.js';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import type { ToolLlamaMessage } from '../../toolbench/render.js';

export interface ChatPromptEncoder {
  encodePrompt(messages: readonly ToolLlamaMessage[]): number[];
  /** The end-of-turn text, where a decoded reply is cut. */
  stopStrings: string[];
}

export function chatPromptEncoder(tokenizer: Tokenizer): ChatPromptEncoder {
  const eos = tokenizer.idToToken(tokenizer.eosId) ?? '';
  return {
    encodePrompt(messages) {
      const text = renderChat(tokenizer, messages.map((m) => ({ role: m.role === 'function' ? 'tool' : m.role, content: m.content })), { addGenerationPrompt: true });
      const ids = tokenizer.encode(text, { addBos: false });
      return tokenizer.addsBos ? [tokenizer.bosId, ...ids] : ids;
    },
    stopStrings: eos ? [eos] : [],
  };
}
