import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeJudgeAgreement, readLabelFile } from '../../src/eval/judges/judgeAgreement.js';
import { weatherQuery } from './judges/trajectoryBuilder.js';
import { OSLO, TROMSO, writeConvertedDir } from './recorded/convertedFixtures.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-agreement-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const queries = join(root, 'test');
mkdirSync(queries);
const q = (id: number, text: string) => ({ ...weatherQuery(), query_id: id, query: text });
writeFileSync(join(queries, 'G1_instruction.json'), JSON.stringify([q(5, OSLO), q(6, OSLO), q(7, OSLO)]));
writeFileSync(join(queries, 'G2_instruction.json'), JSON.stringify([{ ...q(5, TROMSO), 'relevant APIs': [['Weather Now', '4 Day Outlook']] }]));

function sample(name: string, labels: (group: string) => Record<string, unknown>): string {
  const dir = join(root, name);
  writeConvertedDir(join(dir, 'model_predictions_converted', 'run'), 'dict');
  mkdirSync(join(dir, 'pass_rate_results', 'run'), { recursive: true });
  for (const group of ['G1_instruction', 'G2_instruction']) {
    writeFileSync(join(dir, 'pass_rate_results', 'run', `${group}_run.json`), JSON.stringify(labels(group)));
  }
  return dir;
}

const ids = (group: string) => (group === 'G1_instruction' ? ['5', '6', '7'] : ['5']);

describe('--judge-agreement label layouts', () => {
  it("reads StableToolBench's layout: is_solved maps judge runs to labels", () => {
    const dir = sample('stb', (g) => Object.fromEntries(ids(g).map((id) => [id, { is_solved: { '0': 'AnswerStatus.Solved', '1': 'AnswerStatus.Unsolved', '2': 'AnswerStatus.Solved' } }])));
    const s = computeJudgeAgreement(dir, queries);
    expect(s.rows).toHaveLength(4);
    expect(s.rows[0]).toMatchObject({ category: 'G1_instruction', toolEvalLabels: ['Solved', 'Unsolved', 'Solved'], toolEvalMajority: 'Solved' });
  });

  it("reads ToolBench's eval_pass_rate.py layout: is_solved is one label string", () => {
    const dir = sample('tb', (g) => Object.fromEntries(ids(g).map((id) => [id, { passed: 3, failed: 1, is_solved: 'AnswerStatus.Unsure', task_solvable: 'TaskStatus.Solvable' }])));
    const s = computeJudgeAgreement(dir, queries);
    expect(s.rows.map((r) => r.toolEvalLabels)).toEqual([['Unsure'], ['Unsure'], ['Unsure'], ['Unsure']]);
    // Group G2's query 5 is judged on G2's answer.
    expect(s.rows.find((r) => r.category === 'G2_instruction')!.ruleLabel).toBe('Solved');
  });

  it('names the expected layout when labels are missing or malformed', () => {
    const missing = join(root, 'missing');
    writeConvertedDir(join(missing, 'model_predictions_converted', 'run'), 'dict');
    expect(() => computeJudgeAgreement(missing, queries)).toThrow(/G1_instruction_run\.json: missing ToolEval label file; expected .*StableToolBench.*eval_pass_rate\.py/);
    expect(() => computeJudgeAgreement(join(root, 'nothing-here'), queries)).toThrow(/no model_predictions_converted\/<run>\/<group>\.json/);
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ '5': { is_solved: ['Solved'] } }));
    expect(() => readLabelFile(bad)).toThrow(`${bad}: query 5 field "is_solved": expected`);
    writeFileSync(bad, JSON.stringify({ '5': { is_solved: 'Maybe' } }));
    expect(() => readLabelFile(bad)).toThrow(/query 5 field "is_solved": unknown label "Maybe"/);
  });
});
