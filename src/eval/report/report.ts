/**
 * The evaluation report: per category and on average, the pass rate with its 95% interval, the
 * label counts and reasons, and judge-free metrics of the agent's behaviour; as a JSON summary and
 * as Markdown in the paper's layout (G1_instr, G1_cat, G1_tool, G2_cat, G2_instr, G3_instr, Avg).
 * A query with no result counts as Unsolved (reason `missing`): ToolEval would silently drop it
 * from the denominator instead (docs/toolbench-formats.md §f), which flatters incomplete runs.
 */
import { StatusCode } from '../trajectory.js';
import { meanOfRatesInterval, wilsonInterval, type Interval } from './confidence.js';
import { categoryOrder, type EvalQuery } from '../queries.js';
import { resultKey, type QueryResult } from './results.js';

export interface CategorySummary {
  category: string;
  queries: number;
  evaluated: number;
  missing: number;
  /** Mean score over all queries of the category, in [0, 1]. */
  passRate: number;
  ci95: Interval;
  labels: { Solved: number; Unsure: number; Unsolved: number };
  reasons: Record<string, number>;
  /** The rule judge's lenient-coverage pass rate (docs/judge.md), when the judge gives one. */
  lenientPassRate: number | null;
  metrics: BehaviourMetrics;
}

/** Judge-free measures of what the agent did. Rates are in [0, 1]. */
export interface BehaviourMetrics {
  /** Model outputs with all three ReAct markers. */
  parseRate: number;
  /** Action Inputs that are strict JSON objects. */
  validJsonRate: number;
  /** Queries that ended with a successful Finish give_answer. */
  finishRate: number;
  /** Calls to names that are not offered functions: count, and share of all actions. */
  hallucinatedNames: number;
  hallucinatedNameRate: number;
  /** API calls whose reply was an error (code ≠ 0, an error text, or an empty response). */
  apiErrors: number;
  apiErrorRate: number;
  meanSteps: number;
  meanModelCalls: number;
  contextOverflows: number;
  budgetStops: number;
}

export interface EvalSummary {
  judge: string;
  environment: string;
  policy: string;
  method: string;
  categories: CategorySummary[];
  average: { passRate: number; ci95: Interval; categories: number };
}

export interface RunDescription {
  judge: string;
  environment: string;
  policy: string;
  method: string;
}

export function summarize(queries: EvalQuery[], results: QueryResult[], run: RunDescription): EvalSummary {
  const byKey = new Map(results.map((r) => [resultKey(r.category, r.query_id), r]));
  const categories = categoryOrder([...new Set(queries.map((q) => q.category))]).map((category) => {
    const own = queries.filter((q) => q.category === category);
    const found = own.map((q) => byKey.get(resultKey(category, q.query.query_id))).filter((r) => r !== undefined);
    return summarizeCategory(category, own.length, found);
  });
  const rates = categories.map((c) => ({ p: c.passRate, n: c.queries }));
  const passRate = rates.length === 0 ? 0 : rates.reduce((a, r) => a + r.p, 0) / rates.length;
  return { ...run, categories, average: { passRate, ci95: meanOfRatesInterval(rates), categories: rates.length } };
}

function summarizeCategory(category: string, queries: number, results: QueryResult[]): CategorySummary {
  const missing = queries - results.length;
  const labels = { Solved: 0, Unsure: 0, Unsolved: missing };
  const reasons: Record<string, number> = missing > 0 ? { missing } : {};
  let score = 0;
  let lenientScore = 0;
  let lenientKnown = true;
  for (const r of results) {
    labels[r.label]++;
    score += r.score;
    for (const reason of r.reasons) reasons[reason] = (reasons[reason] ?? 0) + 1;
    const lenient = r.details.lenient_label;
    // Rules that decide before coverage give no lenient label: the strict label stands.
    lenientScore += lenient === 'Solved' ? 1 : lenient === 'Unsure' ? 0.5 : lenient === undefined ? r.score : 0;
    // Only the rule judge has a lenient mode; its details always count the calls.
    if (r.details.calls_total === undefined) lenientKnown = false;
  }
  const passRate = queries === 0 ? 0 : score / queries;
  return {
    category,
    queries,
    evaluated: results.length,
    missing,
    passRate,
    ci95: wilsonInterval(passRate, queries),
    labels,
    reasons,
    lenientPassRate: lenientKnown && queries > 0 ? lenientScore / queries : null,
    metrics: behaviourMetrics(results),
  };
}

export function behaviourMetrics(results: QueryResult[]): BehaviourMetrics {
  const steps = results.flatMap((r) => r.trajectory.steps);
  const apiCalls = steps.filter((s) => s.functionName !== null && s.functionName !== 'Finish');
  const apiErrors = apiCalls.filter((s) => s.code !== StatusCode.ok || s.reply.error !== '' || isEmptyResponse(s.reply.response)).length;
  const hallucinated = steps.filter((s) => s.functionName === null).length;
  const rate = (k: number, n: number) => (n === 0 ? 0 : k / n);
  return {
    parseRate: rate(steps.filter((s) => s.parsed).length, steps.length),
    validJsonRate: rate(steps.filter((s) => s.argsJson).length, steps.length),
    finishRate: rate(results.filter((r) => r.trajectory.stop === 'finish').length, results.length),
    hallucinatedNames: hallucinated,
    hallucinatedNameRate: rate(hallucinated, steps.length),
    apiErrors,
    apiErrorRate: rate(apiErrors, apiCalls.length),
    meanSteps: rate(steps.length, results.length),
    meanModelCalls: rate(results.reduce((a, r) => a + r.trajectory.llmCalls, 0), results.length),
    contextOverflows: results.reduce((a, r) => a + r.trajectory.contextOverflows, 0),
    budgetStops: results.filter((r) => r.trajectory.stop === 'budget').length,
  };
}

function isEmptyResponse(response: unknown): boolean {
  if (typeof response === 'string') return ['', '[]', '{}'].includes(response.trim());
  if (Array.isArray(response)) return response.length === 0;
  return response === null || (typeof response === 'object' && Object.keys(response).length === 0);
}
