/**
 * Chat templates against transformers' apply_chat_template (test/fixtures/golden-llama/chat, made
 * by scripts/make-chat-template-fixtures.py): the rendered text with tools and
 * add_generation_prompt, the token ids, the assistant mask of a template with {% generation %}
 * blocks, and kiln's assistant-message spans for a template without them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ChatMessage, encodeChat, renderChat } from '../../src/model/tokenizer/chatTemplate.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { repoRoot } from '../helpers/shared.js';

const dir = join(repoRoot, 'test', 'fixtures', 'golden-llama', 'chat');
interface Case {
  template: 'messages' | 'generation';
  conversation: string;
  add_generation_prompt: boolean;
  text: string;
  input_ids: number[];
  assistant_masks?: number[];
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
  templates: Record<string, string>;
  conversations: Record<string, { tools: unknown[] | null; messages: ChatMessage[] }>;
  cases: Case[];
};

function tokenizerWith(template: string): Tokenizer {
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  return Tokenizer.fromFiles({ 'tokenizer.json': readFileSync(join(dir, 'tokenizer.json'), 'utf8'), 'tokenizer_config.json': JSON.stringify({ ...config, chat_template: template }) });
}

describe('chat templates', () => {
  it('the tokenizer takes its special tokens and template from tokenizer_config.json (no BOS: none is added)', () => {
    const tok = Tokenizer.fromDir(dir);
    expect(tok.idToToken(tok.eosId)).toBe('<|im_end|>');
    expect(tok.idToToken(tok.padId)).toBe('<|endoftext|>');
    expect(tok.addsBos).toBe(false);
    expect(tok.chatTemplate).toBe(expected.templates.messages);
  });

  for (const c of expected.cases) {
    const conv = expected.conversations[c.conversation]!;
    const messages = c.add_generation_prompt ? conv.messages.slice(0, -1) : conv.messages;
    const opts = { tools: conv.tools ?? undefined, addGenerationPrompt: c.add_generation_prompt };
    it(`${c.template} template, ${c.conversation}${c.add_generation_prompt ? ', generation prompt' : ''}: text and ids as transformers`, () => {
      const tok = tokenizerWith(expected.templates[c.template]!);
      const text = renderChat(tok, messages, opts);
      expect(text).toBe(c.text);
      expect(tok.encode(text, { addBos: false })).toEqual(c.input_ids);
    });
    if (c.assistant_masks && !c.add_generation_prompt) {
      it(`generation template, ${c.conversation}: the assistant mask is transformers' return_assistant_tokens_mask`, () => {
        const enc = encodeChat(tokenizerWith(expected.templates.generation!), messages, opts);
        expect(enc.spanSource).toBe('generation');
        expect(enc.ids).toEqual(c.input_ids);
        expect(enc.assistant.map(Number)).toEqual(c.assistant_masks);
      });
    }
  }

  /** The target tokens' runs, each decoded. */
  function targetRuns(tok: Tokenizer, enc: { ids: number[]; assistant: boolean[] }): string[] {
    const runs: string[] = [];
    let run: number[] = [];
    enc.ids.forEach((id, i) => {
      if (enc.assistant[i]) run.push(id);
      if ((!enc.assistant[i] || i === enc.ids.length - 1) && run.length) {
        runs.push(tok.decode(run));
        run = [];
      }
    });
    return runs;
  }

  it('without generation blocks, each assistant message is a target through its end-of-turn token', () => {
    const tok = tokenizerWith(expected.templates.messages!);
    for (const conv of Object.values(expected.conversations)) {
      const enc = encodeChat(tok, conv.messages, { tools: conv.tools ?? undefined });
      expect(enc.spanSource).toBe('messages');
      // The targets are runs; each run decodes to one assistant message's text and <|im_end|>.
      const runs = targetRuns(tok, enc);
      const assistants = conv.messages.filter((m) => m.role === 'assistant');
      expect(runs.length).toBe(assistants.length);
      runs.forEach((text, i) => {
        expect(text.endsWith('<|im_end|>')).toBe(true);
        const content = assistants[i]!.content || '';
        expect(text.startsWith(content)).toBe(true);
      });
      // The generation template (same turns, its own whitespace) marks the same text.
      const genTok = tokenizerWith(expected.templates.generation!);
      expect(targetRuns(genTok, encodeChat(genTok, conv.messages, { tools: conv.tools ?? undefined }))).toEqual(runs);
    }
  });

  it('refuses a conversation without an assistant turn, and a tokenizer without a template', () => {
    const tok = tokenizerWith(expected.templates.messages!);
    expect(() => encodeChat(tok, [{ role: 'user', content: 'hi' }])).toThrow(/no assistant turn/);
    const bare = Tokenizer.fromFiles({ 'tokenizer.json': readFileSync(join(dir, 'tokenizer.json'), 'utf8'), 'tokenizer_config.json': '{"eos_token": "<|im_end|>"}' });
    expect(() => renderChat(bare, [{ role: 'user', content: 'hi' }])).toThrow(/no chat template/);
  });

  it('refuses a template that rewrites earlier turns, naming the fix', () => {
    const unstable = "{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m.content }}<|im_end|>{% endfor %}{% if add_generation_prompt %}A:{% endif %}";
    const tok = tokenizerWith(unstable);
    expect(() => encodeChat(tok, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }])).toThrow(/generation/);
  });
});
