import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cohensKappa, computeJudgeAgreement, formatAgreement } from '../../src/eval/judges/judgeAgreement.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

describe('cohensKappa', () => {
  it('is 1 for perfect agreement and 0 for chance-level agreement', () => {
    expect(cohensKappa([['a', 'a'], ['b', 'b']])).toBe(1);
    expect(cohensKappa([['a', 'a'], ['a', 'b'], ['b', 'a'], ['b', 'b']])).toBeCloseTo(0);
  });
});

describe.skipIf(!toolbenchDir)(`rule judge vs ToolEval on eval-sample ${toolbenchDir ? '' : skipReasonNoToolbench}`, () => {
  it('reproduces the calibration table of docs/judge.md', () => {
    const summary = computeJudgeAgreement(join(toolbenchDir!, 'eval-sample', 'stabletoolbench'), join(toolbenchDir!, 'test'));
    console.log(formatAgreement(summary));
    const labels = Object.fromEntries(summary.rows.map((r) => [`${r.run}/${r.queryId}`, r.ruleLabel]));
    expect(labels).toEqual({
      'virtual_chatgpt_cot/588': 'Unsolved',
      'virtual_chatgpt_cot/608': 'Solved',
      'virtual_chatgpt_cot/1073': 'Solved',
      'virtual_chatgpt_dfs/588': 'Unsure',
      'virtual_chatgpt_dfs/608': 'Solved',
      'virtual_chatgpt_dfs/1073': 'Solved',
    });
    expect(summary.agreement).toBeCloseTo(5 / 6);
  });
});
