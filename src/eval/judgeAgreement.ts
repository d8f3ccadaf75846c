/**
 * How well the rule judge agrees with ToolEval on recorded answers that ToolEval labelled:
 * StableToolBench's `data_example` (shared/toolbench/eval-sample/stabletoolbench), which holds
 * converted ChatGPT answers per run and per category, and the SoPR labels of several GPT judge
 * runs for each. Reports each query, the agreement with ToolEval's majority label, Cohen's κ over
 * the three labels, and both SoPR-style scores.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { judgeByRules } from './judges/rules.js';
import { LABEL_SCORE, type AnswerLabel } from './judges/judge.js';
import { loadQueries } from './queries.js';
import { loadRecordedAnswers } from './recorded.js';
import { recordedTrajectory } from './recordedTrajectory.js';

export interface AgreementRow {
  run: string;
  category: string;
  queryId: number;
  toolEvalLabels: AnswerLabel[];
  toolEvalMajority: AnswerLabel;
  ruleLabel: AnswerLabel;
  ruleReasons: string[];
}

export interface AgreementSummary {
  rows: AgreementRow[];
  agreement: number;
  kappa: number;
  toolEvalScore: number;
  ruleScore: number;
}

/** `sampleDir` is eval-sample/stabletoolbench; `testDir` holds the queries (toolbench/test). */
export function computeJudgeAgreement(sampleDir: string, testDir: string): AgreementSummary {
  const predictionsDir = join(sampleDir, 'model_predictions_converted');
  const rows: AgreementRow[] = [];
  for (const run of readdirSync(predictionsDir).sort()) {
    for (const file of readdirSync(join(predictionsDir, run)).filter((f) => f.endsWith('.json')).sort()) {
      const category = file.replace(/\.json$/, '');
      const labelsFile = join(sampleDir, 'pass_rate_results', run, `${category}_${run}.json`);
      if (!existsSync(labelsFile)) throw new Error(`${labelsFile}: missing ToolEval labels for ${run}/${file}`);
      const labels = JSON.parse(readFileSync(labelsFile, 'utf8')) as Record<string, { is_solved?: Record<string, string> }>;
      const answers = loadRecordedAnswers(join(predictionsDir, run, file));
      const ids = new Set(answers.keys());
      const queries = new Map(
        loadQueries(testDir, { categories: [category], ids }).queries.map((q) => [q.query.query_id, q.query]),
      );
      for (const [id, answer] of [...answers].sort((a, b) => a[0] - b[0])) {
        const query = queries.get(id);
        if (!query) throw new Error(`${run}/${file}: query ${id} is not in ${testDir}/${category}.json`);
        const runs = labels[String(id)]?.is_solved;
        if (!runs) throw new Error(`${labelsFile}: no is_solved labels for query ${id}`);
        const toolEvalLabels = Object.keys(runs)
          .sort()
          .map((k) => readLabel(runs[k]!, `${labelsFile}: query ${id} run ${k}`));
        const judgement = judgeByRules(query, recordedTrajectory(answer, query, category));
        rows.push({
          run,
          category,
          queryId: id,
          toolEvalLabels,
          toolEvalMajority: majority(toolEvalLabels),
          ruleLabel: judgement.label,
          ruleReasons: judgement.reasons,
        });
      }
    }
  }
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    rows,
    agreement: mean(rows.map((r) => (r.ruleLabel === r.toolEvalMajority ? 1 : 0))),
    kappa: cohensKappa(rows.map((r) => [r.toolEvalMajority, r.ruleLabel])),
    toolEvalScore: mean(rows.map((r) => mean(r.toolEvalLabels.map((l) => LABEL_SCORE[l])))),
    ruleScore: mean(rows.map((r) => LABEL_SCORE[r.ruleLabel])),
  };
}

export function formatAgreement(s: AgreementSummary): string {
  const lines = [
    '| run | category | query | ToolEval labels | ToolEval majority | rule judge | reason |',
    '| --- | --- | ---: | --- | --- | --- | --- |',
    ...s.rows.map(
      (r) =>
        `| ${r.run} | ${r.category} | ${r.queryId} | ${r.toolEvalLabels.join(', ')} | ${r.toolEvalMajority} | ${r.ruleLabel} | ${r.ruleReasons.join(', ')} |`,
    ),
    '',
    `Agreement with ToolEval's majority label: ${(100 * s.agreement).toFixed(1)}% ` +
      `(${s.rows.filter((r) => r.ruleLabel === r.toolEvalMajority).length}/${s.rows.length}); Cohen's kappa ${s.kappa.toFixed(3)}`,
    `SoPR-style score: ToolEval ${(100 * s.toolEvalScore).toFixed(1)}, rule judge ${(100 * s.ruleScore).toFixed(1)}`,
  ];
  return lines.join('\n');
}

function readLabel(text: string, where: string): AnswerLabel {
  const label = text.replace(/^AnswerStatus\./, '');
  if (label !== 'Solved' && label !== 'Unsure' && label !== 'Unsolved') throw new Error(`${where}: unknown label ${text}`);
  return label;
}

/** The most frequent label; a tie goes to the lower score (the cautious reading). */
function majority(labels: AnswerLabel[]): AnswerLabel {
  const order: AnswerLabel[] = ['Unsolved', 'Unsure', 'Solved'];
  let best: AnswerLabel = 'Unsolved';
  let bestCount = -1;
  for (const l of order) {
    const n = labels.filter((x) => x === l).length;
    if (n > bestCount) [best, bestCount] = [l, n];
  }
  return best;
}

/** Cohen's κ for two raters; 1 when both agree on everything, including the degenerate one-label case. */
export function cohensKappa(pairs: [string, string][]): number {
  if (pairs.length === 0) return 0;
  const n = pairs.length;
  const observed = pairs.filter(([a, b]) => a === b).length / n;
  const categories = new Set(pairs.flat());
  let expected = 0;
  for (const c of categories) {
    expected += (pairs.filter(([a]) => a === c).length / n) * (pairs.filter(([, b]) => b === c).length / n);
  }
  return expected === 1 ? 1 : (observed - expected) / (1 - expected);
}
