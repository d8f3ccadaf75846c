import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnswerFile, answerToConversations } from '../../src/toolbench/answerTree.js';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import type { ToolLlamaConversation } from '../../src/toolbench/render.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const withData = it.skipIf(toolbenchDir === null);
const dataNote = toolbenchDir === null ? ` (${skipReasonNoToolbench})` : '';
const readData = (rel: string): unknown => parseJsonLossless(readFileSync(join(toolbenchDir!, rel), 'utf8'));

describe('answerToConversations', () => {
  withData(`converts G1 answer 11 and G3 answer 13 exactly${dataNote}`, () => {
    for (const [answerPath, expectedPath] of [
      ['train-sample/answer/G1_answer/11_ChatGPT_DFS_woFilter_w2.json', 'toolllama_conversations_G1_answer_11.json'],
      ['train-sample/answer/G3_answer/13_ChatGPT_DFS_woFilter_w2.json', 'toolllama_conversations_G3_answer_13_with_diversity_prompts.json'],
    ]) {
      const got = answerToConversations(readData(answerPath!) as AnswerFile, answerPath);
      const expected = readData(`prompts/examples/${expectedPath}`);
      expect(got).toEqual(expected);
    }
  });

  withData(`reproduces all 50 preprocessed instances of the train sample${dataNote}`, () => {
    const got: ToolLlamaConversation[] = [];
    for (const group of ['G1_answer', 'G2_answer', 'G3_answer']) {
      const dir = `train-sample/answer/${group}`;
      for (const file of readdirSync(join(toolbenchDir!, dir))) {
        got.push(...answerToConversations(readData(`${dir}/${file}`) as AnswerFile, file));
      }
    }
    const expected = readData('prompts/examples/toolllama_preprocessed_all_train_sample.json') as ToolLlamaConversation[];
    const key = (c: ToolLlamaConversation): string => JSON.stringify(c);
    expect(got.map(key).sort()).toEqual(expected.map(key).sort());
  });

  it('folds thoughts, skips a last message without a call, and skips invalid answers', () => {
    const answer: AnswerFile = {
      answer_generation: {
        valid_data: true,
        query: 'q',
        function: [],
        train_messages: [
          [
            { role: 'system', content: 'S with a function call to actually excute your step. end' },
            { role: 'user', content: 'U' },
            { role: 'assistant', content: 'think' },
            { role: 'assistant', content: 'ignored', function_call: { name: 'f', arguments: '{}' } },
          ],
          [
            { role: 'system', content: 'S' },
            { role: 'assistant', content: 'just talk' },
          ],
        ],
      },
    };
    expect(answerToConversations(answer)).toEqual([
      {
        id: 'Step 3: q',
        conversations: [
          {
            from: 'system',
            value:
              'S with a function call to actually excute your step. Your output should follow this format:\nThought:\nAction\nAction Input:\n end' +
              '\nSpecifically, you have access to the following APIs: []',
          },
          { from: 'user', value: 'U' },
          { from: 'assistant', value: '\nThought: think\nAction: f\nAction Input: {}' },
        ],
      },
    ]);
    expect(answerToConversations({ answer_generation: { ...answer.answer_generation, valid_data: false } })).toEqual([]);
    const bad = { answer_generation: { valid_data: true, query: 'q', function: [], train_messages: [[{ role: 'robot', content: '' }]] } };
    expect(() => answerToConversations(bad as unknown as AnswerFile, 'a.json')).toThrow('a.json train_messages[0][0]: unknown role "robot"');
  });
});
