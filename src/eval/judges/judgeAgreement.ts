/**
 * How well the rule judge agrees with ToolEval on recorded answers that ToolEval labelled. The
 * layout is `<sample>/model_predictions_converted/<run>/<group>.json` beside
 * `<sample>/pass_rate_results/<run>/<group>_<run>.json`, as StableToolBench's `data_example`
 * and ToolBench's `eval_pass_rate.py` both write it.
 * The label files differ: StableToolBench keeps `is_solved` as `{<judge run>: label}`, ToolBench
 * as one label string per query (the last judge run's). Reports each query, the agreement with
 * ToolEval's majority label, Cohen's κ over the three labels, and both SoPR-style scores.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { judgeByRules } from './rules.js';
import { LABEL_SCORE, type AnswerLabel } from './judge.js';
import { loadQueries } from '../queries.js';
import { loadRecordedAnswers } from '../recorded/recordedAnswers.js';
import { recordedTrajectory } from '../recorded/recordedTrajectory.js';

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
  if (!existsSync(predictionsDir)) {
    throw new Error(`${sampleDir}: no model_predictions_converted/<run>/<group>.json (the layout of ToolEval's converted answers)`);
  }
  const rows: AgreementRow[] = [];
  for (const run of readdirSync(predictionsDir).sort()) {
    for (const file of readdirSync(join(predictionsDir, run)).filter((f) => f.endsWith('.json')).sort()) {
      const category = file.replace(/\.json$/, '');
      const labelsFile = join(sampleDir, 'pass_rate_results', run, `${category}_${run}.json`);
      const labels = readLabelFile(labelsFile);
      const answers = loadRecordedAnswers(join(predictionsDir, run, file)).all();
      const ids = new Set(answers.map((a) => a.queryId));
      const queries = new Map(
        loadQueries(testDir, { categories: [category], ids }).queries.map((q) => [q.query.query_id, q.query]),
      );
      for (const answer of answers.sort((a, b) => a.queryId - b.queryId)) {
        const id = answer.queryId;
        const query = queries.get(id);
        if (!query) throw new Error(`${run}/${file}: query ${id} is not in ${testDir}/${category}.json`);
        const toolEvalLabels = labels.get(String(id));
        if (!toolEvalLabels) throw new Error(`${labelsFile}: no "is_solved" label for query ${id}`);
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

const LABEL_LAYOUTS =
  'expected {<query id>: {"is_solved": {<run>: "AnswerStatus.<label>"}}} (StableToolBench) ' +
  'or {<query id>: {"is_solved": "AnswerStatus.<label>", "passed": n, "failed": n}} (ToolBench eval_pass_rate.py)';

/** ToolEval's labels per query id, from either layout. */
export function readLabelFile(labelsFile: string): Map<string, AnswerLabel[]> {
  if (!existsSync(labelsFile)) throw new Error(`${labelsFile}: missing ToolEval label file; ${LABEL_LAYOUTS}`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(labelsFile, 'utf8'));
  } catch (e) {
    throw new Error(`${labelsFile}: not valid JSON (${(e as Error).message}); ${LABEL_LAYOUTS}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${labelsFile}: ${LABEL_LAYOUTS}`);
  const out = new Map<string, AnswerLabel[]>();
  for (const [id, entry] of Object.entries(data as Record<string, unknown>)) {
    const where = `${labelsFile}: query ${id} field "is_solved"`;
    const solved = (entry as { is_solved?: unknown } | null)?.is_solved;
    if (typeof solved === 'string') out.set(id, [readLabel(solved, where)]);
    else if (solved !== null && typeof solved === 'object' && !Array.isArray(solved)) {
      const runs = solved as Record<string, unknown>;
      out.set(
        id,
        Object.keys(runs)
          .sort()
          .map((k) => readLabel(runs[k], `${where} run ${k}`)),
      );
    } else throw new Error(`${where}: ${LABEL_LAYOUTS}`);
  }
  return out;
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

function readLabel(text: unknown, where: string): AnswerLabel {
  const label = typeof text === 'string' ? text.replace(/^AnswerStatus\./, '') : '';
  if (label !== 'Solved' && label !== 'Unsure' && label !== 'Unsolved') {
    throw new Error(`${where}: unknown label ${JSON.stringify(text)} (expected AnswerStatus.Solved, .Unsure or .Unsolved)`);
  }
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
