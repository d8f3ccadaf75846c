/**
 * Per-turn loss weights (OpenAI's `weight` on an assistant message): a turn of weight 0 stays in
 * the context but is no target, on both paths into training (ToolLLaMA text for OPT, a chat
 * template for Llama), and a bad weight is refused naming the field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../src/model/tokenizer/tokenizer.js';
import { fitChatExample } from '../../../src/train/data/chatTemplateExamples.js';
import { fitExample, type FitOptions } from '../../../src/train/data/overlong.js';
import { IGNORE_INDEX, type TokenizedExample } from '../../../src/train/data/tokenizeExample.js';
import { RecordError, chatToConversation, validateConversation } from '../../../src/train/data/validate.js';
import type { ToolLlamaConversation } from '../../../src/toolbench/render.js';
import { repoRoot } from '../../helpers/shared.js';
import { WordTokenizer } from './wordTokenizer.js';

const FAILED = '\nThought: try\nAction: wrong_for_tool\nAction Input: {}';
const RETRY = '\nThought: again\nAction: right_for_tool\nAction Input: {}';
const FINISH = '\nThought: done\nAction: Finish\nAction Input: {"final_answer": "42"}';

function retryConversation(failedWeight: 0 | 1 | undefined): ToolLlamaConversation {
  const failed = failedWeight === undefined ? { from: 'assistant' as const, value: FAILED } : { from: 'assistant' as const, value: FAILED, weight: failedWeight };
  return {
    id: 'retry',
    conversations: [
      { from: 'system', value: 'Functions:\nright_for_tool()' },
      { from: 'user', value: 'a query' },
      failed,
      { from: 'function', value: '{"error": "No such function name: wrong_for_tool"}' },
      { from: 'assistant', value: RETRY },
      { from: 'function', value: '{"response": "42"}' },
      { from: 'assistant', value: FINISH },
    ],
  };
}

/** The target tokens decoded, one string per run of consecutive targets. */
function targetRuns(example: TokenizedExample, decode: (ids: number[]) => string): string[] {
  const runs: string[] = [];
  let run: number[] = [];
  example.labels.forEach((label, i) => {
    if (label !== IGNORE_INDEX) run.push(example.inputIds[i]!);
    else if (run.length > 0) {
      runs.push(decode(run));
      run = [];
    }
  });
  if (run.length > 0) runs.push(decode(run));
  return runs;
}

function kept(outcome: ReturnType<typeof fitExample>): TokenizedExample {
  if (outcome.action !== 'kept') throw new Error(`expected the example kept, got ${outcome.action}`);
  return outcome.example;
}

describe('per-turn loss weights', () => {
  it('ToolLLaMA text (OPT): a weight-0 turn is context, the others are targets; the input is the same', () => {
    const tok = new WordTokenizer();
    const options: FitOptions = { maxTokens: 10_000, policy: 'truncate', lossOn: 'assistant', tokenizer: tok };
    const weighted = kept(fitExample(retryConversation(0), options));
    const plain = kept(fitExample(retryConversation(undefined), options));
    const one = kept(fitExample(retryConversation(1), options));
    // The word tokenizer's whitespace token `Assistant: ` + `\n` straddles a span's start: trimmed.
    const decode = (ids: number[]) => tok.decode(ids).trim();
    expect(Array.from(weighted.inputIds)).toEqual(Array.from(plain.inputIds));
    expect(targetRuns(plain, decode)).toEqual([FAILED.trim(), RETRY.trim(), `${FINISH.trim()}</s>`]);
    expect(targetRuns(weighted, decode)).toEqual([RETRY.trim(), `${FINISH.trim()}</s>`]);
    expect(Array.from(one.labels)).toEqual(Array.from(plain.labels));
    // Under 'all' the whole text (all but the BOS) is a target whatever the weights.
    const all = kept(fitExample(retryConversation(0), { ...options, lossOn: 'all' }));
    expect(Array.from(all.labels.slice(1))).toEqual(Array.from(all.inputIds.slice(1)));
  });

  it('a chat template (Llama): a weight-0 turn is context, the others are targets through their end-of-turn token', () => {
    const dir = join(repoRoot, 'test', 'fixtures', 'golden-llama', 'chat');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { templates: Record<string, string> };
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    for (const template of ['messages', 'generation']) {
      const tok = Tokenizer.fromFiles({
        'tokenizer.json': readFileSync(join(dir, 'tokenizer.json'), 'utf8'),
        'tokenizer_config.json': JSON.stringify({ ...config, chat_template: expected.templates[template] }),
      });
      const options: FitOptions = { maxTokens: 10_000, policy: 'truncate', lossOn: 'assistant', tokenizer: tok };
      const decode = (ids: number[]) => tok.decode(ids, { skipSpecialTokens: false });
      const plain = targetRuns(kept(fitChatExample(tok, retryConversation(undefined), options)), decode);
      const weighted = kept(fitChatExample(tok, retryConversation(0), options));
      expect(plain.length, template).toBe(3);
      expect(plain[0]!.startsWith(FAILED), template).toBe(true);
      expect(targetRuns(weighted, decode), template).toEqual(plain.slice(1));
      // The failed call is still in the input, where the model reads it.
      expect(decode(Array.from(weighted.inputIds))).toContain('wrong_for_tool');
    }
  });

  it('weights pass through validation and from OpenAI chat messages', () => {
    expect(validateConversation(retryConversation(0)).conversations[2]).toEqual({ from: 'assistant', value: FAILED, weight: 0 });
    expect(validateConversation(retryConversation(undefined)).conversations[2]).toEqual({ from: 'assistant', value: FAILED });
    const conv = chatToConversation(
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'try', function_call: { name: 'wrong_for_tool', arguments: '{}' }, weight: 0 },
          { role: 'function', name: 'wrong_for_tool', content: 'No such function' },
          { role: 'assistant', content: 'again', function_call: { name: 'right_for_tool', arguments: '{}' }, weight: 1 },
        ],
      },
      'record 1',
    );
    expect(conv.conversations.map((t) => t.weight)).toEqual([undefined, 0, undefined, 1]);
  });

  it('refuses a bad weight, a weight on another role, and a conversation with nothing left to learn, naming the field', () => {
    const withTurn = (turn: object) => {
      const conv = retryConversation(undefined);
      return { ...conv, conversations: [...conv.conversations.slice(0, 2), turn, ...conv.conversations.slice(3)] };
    };
    const refusal = (value: unknown): RecordError => {
      try {
        validateConversation(value);
      } catch (err) {
        return err as RecordError;
      }
      throw new Error('expected a refusal');
    };
    const half = refusal(withTurn({ from: 'assistant', value: FAILED, weight: 0.5 }));
    expect(half).toBeInstanceOf(RecordError);
    expect([half.field, half.message]).toEqual(['conversations[2].weight', expect.stringMatching(/expected 0 or 1, got 0\.5/)]);
    const onUser = refusal(withTurn({ from: 'user', value: 'q', weight: 0 }));
    expect([onUser.field, onUser.message]).toEqual(['conversations[2].weight', expect.stringMatching(/only an assistant turn/)]);
    const none = refusal({
      id: 'x',
      conversations: [
        { from: 'user', value: 'q' },
        { from: 'assistant', value: FAILED, weight: 0 },
      ],
    });
    expect([none.field, none.message]).toEqual(['conversations', expect.stringMatching(/every assistant turn has weight 0/)]);
  });
});
