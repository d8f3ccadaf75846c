import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forEachLine, ResultsStore, RESULTS_FILE } from '../../src/eval/report/results.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const result = (id: number) => ({
  query_id: id, category: 'G1_instruction', label: 'Solved', score: 1, reasons: ['solved'], details: {},
  trajectory: { queryId: id, category: 'G1_instruction', method: 'cot', steps: [], finalAnswer: 'é'.repeat(1500), stop: 'finish', llmCalls: 1, contextOverflows: 0 },
});

describe('the results file is read line by line (F7: resume must not build one string of the whole file)', () => {
  it('forEachLine splits across chunk boundaries, multi-byte characters included, with byte offsets', () => {
    const file = join(dir, 'lines.txt');
    const lines = ['a', 'é'.repeat(700), '', 'last line without newline'];
    writeFileSync(file, lines.join('\n'));
    const seen: [string, number, number][] = [];
    forEachLine(file, (line, n, offset) => seen.push([line, n, offset]), 64);
    expect(seen.map((s) => s[0])).toEqual(lines);
    expect(seen.map((s) => s[2])).toEqual([0, 2, 2 + Buffer.byteLength(lines[1]!) + 1, 2 + Buffer.byteLength(lines[1]!) + 2]);
  });

  it('resumes a file many chunks long and cuts away a torn last line in place', () => {
    const out = join(dir, 'run');
    new ResultsStore(out, { judge: 'x' });
    const whole = [1, 2, 3].map((id) => JSON.stringify(result(id))).join('\n');
    writeFileSync(join(out, RESULTS_FILE), `${whole}\n{"query_id": 4, "categ`);
    const store = new ResultsStore(out, { judge: 'x' });
    expect(store.all().map((r) => r.query_id)).toEqual([1, 2, 3]);
    expect(readFileSync(join(out, RESULTS_FILE), 'utf8')).toBe(`${whole}\n`);
  });

  it('refuses a damaged line that is not the last', () => {
    const out = join(dir, 'damaged');
    new ResultsStore(out, { judge: 'x' });
    writeFileSync(join(out, RESULTS_FILE), `${JSON.stringify(result(1))}\nnot json\n${JSON.stringify(result(2))}\n`);
    expect(() => new ResultsStore(out, { judge: 'x' })).toThrow(/trajectories\.jsonl: line 2 is not valid JSON/);
  });
});
