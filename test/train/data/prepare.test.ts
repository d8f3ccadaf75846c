import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDataReport, lengthHistogram } from '../../../src/train/data/dataReport.js';
import { prepareSftData } from '../../../src/train/data/prepare.js';
import { IGNORE_INDEX } from '../../../src/train/data/tokenizeExample.js';
import { WordTokenizer } from './wordTokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-prepare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const conv = (id: string, obsWords: number) => ({
  id,
  conversations: [
    { from: 'system', value: 'You call functions.' },
    { from: 'user', value: '\nq\nBegin!\n' },
    { from: 'assistant', value: '\nThought: \nAction: f\nAction Input: {}' },
    { from: 'function', value: 'x '.repeat(obsWords) },
    { from: 'assistant', value: '\nThought: \nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "x"}' },
  ],
});

describe('prepareSftData', () => {
  const path = join(dir, 'train.json');
  writeFileSync(path, JSON.stringify([conv('short', 5), conv('long', 200), { id: 'broken' }, conv('short2', 3)]));

  it('validates, tokenizes, applies the overlong policy and reports', async () => {
    const tok = new WordTokenizer();
    const data = await prepareSftData({ paths: [path], tokenizer: tok, maxTokens: 128, overlong: 'truncate', onBadRecord: 'skip', minObservationTokens: 4 });
    expect(data.examples.length).toBe(3);
    expect(data.locations).toEqual([`${path} [0]`, `${path} [1]`, `${path} [3]`]);
    const r = data.report;
    expect(r).toMatchObject({ conversations: 3, examples: 3, lossOn: 'assistant', policy: 'truncate' });
    expect(r.overlong).toMatchObject({ kept: 2, truncated: 1, dropped: 0, withObservationsCut: 1 });
    expect(r.badRecords).toEqual([{ location: `${path} [2]`, field: null, message: 'not a recognised record: expected "conversations", "answer_generation" or "messages"' }]);
    expect(r.tokens).toBe(data.examples.reduce((n, ex) => n + ex.inputIds.length, 0));
    expect(r.targetTokens).toBe(data.examples.reduce((n, ex) => n + ex.labels.filter((l) => l !== IGNORE_INDEX).length, 0));
    const text = formatDataReport(r);
    expect(text).toContain('malformed: 1');
    expect(text).toContain('truncated:      1');
    expect(text).toContain(`malformed: ${path} [2]`);
  });

  it('fails listing the bad records under --on-bad-record fail', async () => {
    await expect(
      prepareSftData({ paths: [path], tokenizer: new WordTokenizer(), maxTokens: 128, overlong: 'drop', onBadRecord: 'fail' }),
    ).rejects.toThrow(/1 malformed training record\(s\)[\s\S]*train\.json \[2\]/);
  });

  it('drops over-long examples under the drop policy', async () => {
    const data = await prepareSftData({ paths: [path], tokenizer: new WordTokenizer(), maxTokens: 128, overlong: 'drop', onBadRecord: 'skip', lossOn: 'last-assistant' });
    expect(data.report.overlong).toMatchObject({ kept: 2, dropped: 1 });
    expect(data.examples.length).toBe(2);
  });
});

describe('lengthHistogram', () => {
  it('bins lengths up to maxTokens', () => {
    expect(lengthHistogram([1, 256, 257, 2048], 2048).map((b) => b.count)).toEqual([2, 1, 0, 0, 0, 0, 0, 1]);
  });
});
