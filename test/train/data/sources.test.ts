import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { streamJsonArray } from '../../../src/train/data/sources/jsonStream.js';
import { listSourceFiles, readSourceRecords } from '../../../src/train/data/sources/sources.js';
import { loadConversations } from '../../../src/train/data/validate.js';
import type { ToolLlamaConversation } from '../../../src/toolbench/render.js';
import { parseJsonLossless } from '../../../src/toolbench/jsonLossless.js';
import { readFileSync } from 'node:fs';
import { skipReasonNoToolbench, toolbenchDir } from '../../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sources-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function tempFile(name: string, text: string): string {
  const path = join(dir, `${fileNo++}-${name}`);
  writeFileSync(path, text);
  return path;
}

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

const conv = (id: string, value = '\nThought: \nAction: f\nAction Input: {}'): ToolLlamaConversation => ({
  id,
  conversations: [
    { from: 'system', value: 'S' },
    { from: 'user', value: 'U' },
    { from: 'assistant', value },
  ],
});

describe('streamJsonArray', () => {
  it('yields the same elements as JSON.parse (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 3 })), fc.boolean(), async (values, pretty) => {
        const path = tempFile('a.json', JSON.stringify(values, null, pretty ? 2 : undefined));
        const got = (await collect(streamJsonArray(path))).map((e) => JSON.parse(e.text));
        expect(got).toEqual(JSON.parse(JSON.stringify(values)));
      }),
      { numRuns: 40 },
    );
  });

  it('splits elements across 1 MiB read chunks', async () => {
    const values = Array.from({ length: 2500 }, (_, i) => ({ i, s: `"]}[{\\ ${'é'.repeat(i % 7)}`.repeat(60) }));
    const path = tempFile('big.json', JSON.stringify(values));
    const got = await collect(streamJsonArray(path));
    expect(got.length).toBe(values.length);
    expect(got.map((e) => JSON.parse(e.text))).toEqual(values);
  });

  it('names the file when the array is broken', async () => {
    await expect(collect(streamJsonArray(tempFile('x.json', '{"a": 1}')))).rejects.toThrow(/x\.json: the top level is not a JSON array/);
    await expect(collect(streamJsonArray(tempFile('y.json', '[{"a": 1}, {')))).rejects.toThrow(/y\.json: .* not terminated/);
  });
});

describe('sources and validation', () => {
  it('reads the three forms from a directory, reporting bad records by file and index', async () => {
    const root = join(dir, 'mixed');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'a.json'), JSON.stringify([conv('one'), { id: 'bad', conversations: [{ from: 'robot', value: '' }] }, conv('two')]));
    const chat = [
      { messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }, { role: 'assistant', content: 'hm', function_call: { name: 'f', arguments: { a: 1 } } }, { role: 'tool', content: 'obs' }, { role: 'assistant', content: '\nThought: done' }] },
      { messages: [{ role: 'user', content: 'no answer' }] },
      'not json',
    ];
    writeFileSync(join(root, 'sub', 'b.jsonl'), chat.map((c, i) => (i === 2 ? c : JSON.stringify(c))).join('\n') + '\n');
    writeFileSync(join(root, 'sub', 'c.json'), JSON.stringify({ something: 'else' }));
    expect(listSourceFiles(root).map((f) => f.slice(root.length + 1))).toEqual(['a.json', 'sub/b.jsonl', 'sub/c.json']);

    const loaded = await loadConversations([root], { onBadRecord: 'skip' });
    expect(loaded.conversations.map((c) => c.conversation.id)).toEqual(['one', 'two', 'sub/b.jsonl line 1']);
    expect(loaded.conversations[2]!.conversation.conversations.slice(2)).toEqual([
      { from: 'assistant', value: '\nThought: hm\nAction: f\nAction Input: {"a":1}' },
      { from: 'function', value: 'obs' },
      { from: 'assistant', value: '\nThought: done' },
    ]);
    expect(loaded.recordsByForm).toEqual({ toolllama: 2, 'answer-tree': 0, chat: 1 });
    expect(loaded.bad.map((b) => `${b.location} | ${b.field}`)).toEqual([
      'a.json [1] | conversations[0].from',
      'sub/b.jsonl line 2 | conversations',
      'sub/b.jsonl line 3 | null',
      'sub/c.json | null',
    ]);
    await expect(loadConversations([root], { onBadRecord: 'fail' })).rejects.toThrow(
      /4 malformed training record\(s\)[\s\S]*a\.json \[1\]: field "conversations\[0\]\.from"/,
    );
  });

  it('reads a single JSONL file of ToolLLaMA conversations', async () => {
    const path = tempFile('c.jsonl', `${JSON.stringify(conv('x'))}\n\n${JSON.stringify(conv('y'))}\n`);
    const records = await collect(readSourceRecords(path));
    expect(records.map((r) => [r.index, r.location.replace(/^.*\//, '')])).toEqual([[0, `${path.replace(/^.*\//, '')} line 1`], [2, `${path.replace(/^.*\//, '')} line 3`]]);
  });

  it.skipIf(toolbenchDir === null)(`converts the train-sample answer trees like ToolBench${toolbenchDir === null ? ` (${skipReasonNoToolbench})` : ''}`, async () => {
    const loaded = await loadConversations([join(toolbenchDir!, 'train-sample/answer')], { onBadRecord: 'fail' });
    const expected = parseJsonLossless(
      readFileSync(join(toolbenchDir!, 'prompts/examples/toolllama_preprocessed_all_train_sample.json'), 'utf8'),
    ) as ToolLlamaConversation[];
    const key = (c: ToolLlamaConversation): string => JSON.stringify(c);
    expect(loaded.conversations.map((c) => key(c.conversation)).sort()).toEqual(expected.map(key).sort());
    expect(loaded.recordsByForm['answer-tree']).toBe(15);
  });
});
