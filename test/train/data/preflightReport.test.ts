/** The training side of the length pre-flight and of the fitting policy: data report, groups, options. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFittingPolicy } from '../../../src/toolbench/fitting.js';
import { queryFunctions, toolListLines } from '../../../src/toolbench/functions.js';
import { pythonRepr } from '../../../src/toolbench/pythonRepr.js';
import { dataGroup, formatDataReport } from '../../../src/train/data/dataReport.js';
import { prepareSftData } from '../../../src/train/data/prepare.js';
import { OptionsError, parseTrainArgs, resumeOptions } from '../../../src/train/options.js';
import { WordTokenizer } from './wordTokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const query = {
  api_list: [
    {
      category_name: 'c',
      tool_name: 'Weather',
      api_name: 'now',
      api_description: 'The weather now, in many words that the compact policy removes from the prompt entirely.',
      required_parameters: [{ name: 'city', type: 'STRING', description: 'a city', default: 'Oslo' }],
      optional_parameters: [],
      method: 'GET',
    },
  ],
};
const system = `Tools:\n${toolListLines(query)}\nAPIs: ${pythonRepr(queryFunctions(query))}`;
const conv = (id: string, obsWords: number) => ({
  id,
  conversations: [
    { from: 'system', value: system },
    { from: 'user', value: '\nq\nBegin!\n' },
    { from: 'assistant', value: '\nThought: \nAction: now_for_weather\nAction Input: {}' },
    { from: 'function', value: 'x '.repeat(obsWords) },
    { from: 'assistant', value: '\nThought: \nAction: Finish\nAction Input: {"return_type": "give_answer"}' },
  ],
});

describe('training pre-flight', () => {
  const g1 = join(dir, 'answer', 'G1_answer');
  const g2 = join(dir, 'answer', 'G2_answer');
  mkdirSync(g1, { recursive: true });
  mkdirSync(g2, { recursive: true });
  writeFileSync(join(g1, 'a.json'), JSON.stringify([conv('a1', 5), conv('a2', 400)]));
  writeFileSync(join(g2, 'b.json'), JSON.stringify([conv('b1', 5)]));

  it('reports per group what fits before any cut, and the fitting policy shortens every system prompt', async () => {
    const options = { paths: [join(dir, 'answer')], tokenizer: new WordTokenizer(), maxTokens: 600, overlong: 'drop' as const, onBadRecord: 'fail' as const };
    const plain = await prepareSftData(options);
    const rows = plain.report.preflight.rows;
    expect(rows.map((r) => r.group)).toEqual(['G1_answer', 'G2_answer', 'all']);
    expect(rows[0]).toMatchObject({ items: 2, fit: 1, overflowBeforeFirstStep: 0 });
    expect(rows[2]).toMatchObject({ items: 3, fit: 2, overflowBeforeFirstStep: 0 });
    expect(plain.report.preflight).toMatchObject({ subject: 'training examples', positions: 600, reserve: 1, fitting: 'toolbench' });
    expect(formatDataReport(plain.report)).toMatch(/length pre-flight: training examples in 600 positions[^\n]*\n[^\n]*\n  G1_answer +2 +1 \(50\.0%\) +0 /);

    const compact = await prepareSftData({ ...options, fitting: parseFittingPolicy('compact') });
    expect(compact.report.preflight.fitting).toBe('compact');
    expect(compact.report.fittingNotApplied).toBe(0);
    // Fewer tokens before the first step in every group.
    compact.report.preflight.rows.forEach((r, i) => expect(r.leftMedian).toBeGreaterThan(rows[i]!.leftMedian));
    expect(compact.report.tokens).toBeLessThan(plain.report.tokens);

    const sample = await prepareSftData({ ...options, maxConversations: 1 });
    expect(sample.report.conversations).toBe(1);
  });

  it('names groups as ToolBench paths do, else by file', () => {
    expect(dataGroup('answer/G1_answer/10_DFS_woFilter_w2.json')).toBe('G1_answer');
    expect(dataGroup('toolllama_G123_dfs_train.json [41]')).toBe('G123_dfs');
    expect(dataGroup('/data/train.json [3]')).toBe('train.json');
    expect(dataGroup('chat.jsonl line 4')).toBe('chat.jsonl');
  });

  it('takes --fitting, refuses a bad one, and keeps it fixed on resume', () => {
    const base = ['--model', 'm', '--data', 'd', '--out', 'o'];
    const parsed = parseTrainArgs([...base, '--fitting', 'compact,desc=64']);
    expect(parsed.help === false && parsed.options.fitting).toBe('compact,desc=64');
    expect(() => parseTrainArgs([...base, '--fitting', 'tiny'])).toThrow(OptionsError);
    expect(() => parseTrainArgs([...base, '--fitting', 'tiny'])).toThrow(/--fitting: .*unknown part "tiny"/);
    if (parsed.help) throw new Error('unreachable');
    expect(() => resumeOptions(parsed.options, { fitting: 'toolbench' }, 'ckpt')).toThrow(/--fitting \(checkpoint: "compact,desc=64", now: "toolbench"\)/);
  });
});
