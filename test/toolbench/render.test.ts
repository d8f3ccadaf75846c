import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import { type ConversationTurn, type ToolLlamaConversation, renderConversation, renderInferencePrompt } from '../../src/toolbench/render.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const withData = it.skipIf(toolbenchDir === null);
const dataNote = toolbenchDir === null ? ` (${skipReasonNoToolbench})` : '';
const readText = (rel: string): string => readFileSync(join(toolbenchDir!, rel), 'utf8');

const spanText = (text: string, spans: [number, number][]): string[] => spans.map(([a, b]) => text.slice(a, b));

describe('renderConversation', () => {
  withData(`renders the last step of G1 answer 11 to the exact training text${dataNote}`, () => {
    const convs = parseJsonLossless(readText('prompts/examples/toolllama_conversations_G1_answer_11.json')) as ToolLlamaConversation[];
    const expected = readText('prompts/examples/toolllama_training_text_G1_answer_11_last_step.txt');
    const { text, lossSpans } = renderConversation(convs.at(-1)!, { lossOn: 'last-assistant' });
    expect(text).toBe(expected);
    // ToolLLaMA's mask: everything through the last "\nAssistant: " is context, the rest is target.
    const cut = text.lastIndexOf('\nAssistant: ') + '\nAssistant: '.length;
    expect(lossSpans).toEqual([[cut, text.length]]);
  });

  withData(`puts every assistant value in the default spans${dataNote}`, () => {
    for (const file of ['toolllama_conversations_G1_answer_11.json', 'toolllama_conversations_G3_answer_13_with_diversity_prompts.json']) {
      const convs = parseJsonLossless(readText(`prompts/examples/${file}`)) as ToolLlamaConversation[];
      for (const conv of convs) {
        const { text, lossSpans } = renderConversation(conv, { lossOn: 'assistant' });
        const values = conv.conversations.filter((t) => t.from === 'assistant').map((t) => t.value);
        values[values.length - 1] += '</s>';
        expect(spanText(text, lossSpans)).toEqual(values);
      }
    }
  });

  it('spans are disjoint, ascending and exclude role prefixes (property)', () => {
    const turn = fc.record({
      from: fc.constantFrom<ConversationTurn['from']>('system', 'user', 'function', 'assistant'),
      value: fc.string(),
    });
    fc.assert(
      fc.property(fc.array(turn, { minLength: 1, maxLength: 8 }), (conversations) => {
        const { text, lossSpans } = renderConversation({ conversations }, { lossOn: 'assistant' });
        expect(text.endsWith('</s>')).toBe(true);
        let prev = 0;
        for (const [a, b] of lossSpans) {
          expect(a).toBeGreaterThanOrEqual(prev);
          expect(b).toBeGreaterThan(a);
          expect(text.slice(0, a).endsWith('Assistant: ')).toBe(true);
          prev = b;
        }
        const all = renderConversation({ conversations }, { lossOn: 'all' });
        expect(all.lossSpans).toEqual([[0, text.length]]);
        const last = renderConversation({ conversations }, { lossOn: 'last-assistant' });
        expect(last.lossSpans).toEqual(lossSpans.slice(-1));
      }),
    );
  });

  it('rejects an unknown role naming the turn', () => {
    const conv = { id: 'x', conversations: [{ from: 'bot', value: '' }] } as unknown as ToolLlamaConversation;
    expect(() => renderConversation(conv, { lossOn: 'assistant' })).toThrow('conversation "x" turn 0 field "from": unknown role "bot"');
  });
});

describe('renderInferencePrompt', () => {
  it('renders each message as Role: content and ends with Assistant:', () => {
    expect(
      renderInferencePrompt([
        { role: 'system', content: 'S' },
        { role: 'user', content: '\nQ\nBegin!\n' },
        { role: 'assistant', content: 'Thought: t' },
        { role: 'function', content: '{"error": ""}' },
      ]),
    ).toBe('System: S\nUser: \nQ\nBegin!\n\nAssistant: Thought: t\nFunction: {"error": ""}\nAssistant:\n');
  });

  it("the 'training' handover is the training text up to where each assistant value starts", () => {
    const turns: ConversationTurn[] = [
      { from: 'system', value: 'S' },
      { from: 'user', value: '\nQ\nBegin!\n' },
      { from: 'assistant', value: '\nThought: a\nAction: f\nAction Input: {}' },
      { from: 'function', value: '{"error": "", "response": "x"}' },
      { from: 'assistant', value: '\nThought: b\nAction: Finish\nAction Input: {}' },
    ];
    const { text, valueSpans } = renderConversation({ id: 'c', conversations: turns }, { lossOn: 'assistant' });
    const roles = { system: 'system', user: 'user', assistant: 'assistant', function: 'function' } as const;
    turns.forEach((turn, i) => {
      if (turn.from !== 'assistant') return;
      const before = turns.slice(0, i).map((t) => ({ role: roles[t.from as keyof typeof roles], content: t.value }));
      expect(renderInferencePrompt(before, 'training')).toBe(text.slice(0, valueSpans[i]![0]));
    });
  });
});
