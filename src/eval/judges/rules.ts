/**
 * The deterministic offline rule judge (docs/judge.md): ToolEval's pre-LLM gates (a Finish with a
 * non-empty answer), then refusal, call validity, grounding and coverage rules approximating what
 * ToolEval's LLM checks. The first matching rule decides. Its known biases are listed in
 * docs/judge.md; its number is a "rule-judge pass rate (SoPR-style)", never a ToolEval pass rate.
 */
import { apiToFunction, standardize, type ToolQuery } from '../../toolbench/functions.js';
import { readFinishArguments } from '../calls/actionInput.js';
import { MAX_NESTING, tooDeep } from '../calls/nesting.js';
import type { Trajectory } from '../trajectory.js';
import { checkCall, type CallCheck } from './callValidity.js';
import { digitRunsOf, evidenceValues, tokensOf, valueHit } from './evidence.js';
import { LABEL_SCORE, type AnswerLabel, type Judge, type Judgement } from './judge.js';

const REFUSAL =
  /sorry|apolog|unfortunately|unable to|could(n't| not)|can(not|'t)|not able to|failed to|no (information|data|results?) ((was|were) )?(found|available)|not available|do(es)?n't have access|try again later|encountered an error|is not valid|invalid/i;

export class RuleJudge implements Judge {
  readonly description = 'rule judge (kiln, docs/judge.md; Solved 1 / Unsure 0.5 / Unsolved 0, SoPR-style)';

  async judge(query: ToolQuery, trajectory: Trajectory): Promise<Judgement> {
    return judgeByRules(query, trajectory);
  }
}

export function judgeByRules(query: ToolQuery, t: Trajectory): Judgement {
  const checks = t.steps.filter((s) => s.action !== 'Finish').map((s) => ({ step: s, check: checkCall(s, query) }));
  const counts = {
    steps: t.steps.length,
    llm_calls: t.llmCalls,
    calls_total: checks.length,
    calls_valid: checks.filter((c) => c.check.valid).length,
    calls_failed: checks.filter((c) => !c.check.success).length,
    hallucinated_names: checks.filter((c) => c.check.api === null).length,
    repaired_calls: checks.filter((c) => c.check.repaired).length,
  };
  const verdict = (label: AnswerLabel, reason: string, extra: Record<string, unknown> = {}): Judgement => ({
    label,
    score: LABEL_SCORE[label],
    reasons: [reason],
    details: { ...counts, ...extra },
  });

  // G0–G2: ToolEval's gates. A run that stopped without a Finish answer never passes.
  if (t.stop === 'budget') return verdict('Unsolved', 'budget');
  if (t.stop === 'context_overflow') return verdict('Unsolved', 'context_overflow');
  if (t.stop === 'policy_error') return verdict('Unsolved', 'policy_error');
  const last = t.steps.at(-1);
  if (last === undefined || last.action !== 'Finish') return verdict('Unsolved', 'no_answer');
  const finish = readFinishArguments(t.finalAnswer);
  if (t.finalAnswer === '' || t.finalAnswer.includes('give_up_and_restart') || finish.returnType !== 'give_answer') {
    return verdict('Unsolved', 'empty_or_give_up');
  }
  // An answer that is a structure nested past any real one is not read further.
  if (tooDeep(finish.finalAnswer)) return verdict('Unsolved', 'answer_too_deep', { max_nesting: MAX_NESTING });
  // G3: an answer with no words in it.
  const answer = typeof finish.finalAnswer === 'string' ? finish.finalAnswer : JSON.stringify(finish.finalAnswer ?? '');
  if ((answer.match(/[\p{L}\p{N}_]/gu) ?? []).length < 2) return verdict('Unsolved', 'empty_answer');
  // G4: refusal, judged sentence by sentence.
  const sentences = answer.replace(/\u2019/g, "'").split(/(?<=[.!?])\s+|\n+/).filter((s) => s.trim() !== '');
  const refusing = sentences.filter((s) => REFUSAL.test(s)).length;
  if (refusing === sentences.length) return verdict('Unsolved', 'refusal');
  const partialRefusal = refusing > 0;

  // G5: at least one successful valid call.
  const successes = checks.filter((c) => c.check.success);
  if (successes.length === 0) return verdict('Unsolved', 'all_calls_failed', { partial_refusal: partialRefusal });

  // Evidence: each successful call is grounded when the answer uses a distinctive value of its reply.
  const grounded = groundCalls(query, checks, answer);
  if (![...grounded.values()].some((g) => g.hit)) return verdict('Unsolved', 'ungrounded', { partial_refusal: partialRefusal });

  const coverage = coverageVerdict(query, successes, grounded, partialRefusal);
  return verdict(coverage.label, coverage.reason, coverage.details);
}

type Grounding = Map<string, { hit: boolean; evidence: boolean }>;

/** Rules 9–12 of docs/judge.md: coverage of the annotated relevant APIs, strictly and leniently. */
function coverageVerdict(
  query: ToolQuery,
  successes: { check: CallCheck }[],
  grounded: Grounding,
  partialRefusal: boolean,
): { label: AnswerLabel; reason: string; details: Record<string, unknown> } {
  const relevant = query['relevant APIs'].map(([tool, api]) => {
    const entry = query.api_list.find((a) => a.tool_name === tool && a.api_name === api);
    return { name: entry ? apiToFunction(entry).name : `${api}_for_${tool}`, tool: standardize(tool) };
  });
  // Without annotated relevant APIs, coverage is unknown, never full.
  if (relevant.length === 0) return { label: 'Unsure', reason: 'no_relevant_apis', details: { partial_refusal: partialRefusal, relevant: 0 } };
  // A relevant API counts as grounded when a reply of it was used, or when no reply of it offered
  // any distinctive value to use (unverifiable, but not contradicted); rule 8 needed one real use.
  const isGrounded = (name: string) => grounded.get(name)?.hit === true || grounded.get(name)?.evidence === false;
  const groundedTools = new Set(
    successes.filter((c) => grounded.get(c.check.functionName!)?.hit).map((c) => standardize(c.check.api!.tool_name)),
  );
  const covered = relevant.filter((r) => grounded.has(r.name)).length;
  const groundedRelevant = relevant.filter((r) => isGrounded(r.name)).length;
  const coveredLenient = relevant.filter((r) => grounded.has(r.name) || groundedTools.has(r.tool)).length;
  const groundedLenient = relevant.filter((r) => isGrounded(r.name) || groundedTools.has(r.tool)).length;
  const decide = (cov: number, allGrounded: boolean): [AnswerLabel, string] =>
    cov === 1 && allGrounded && !partialRefusal
      ? ['Solved', 'solved']
      : cov >= 0.5
        ? ['Unsure', cov < 1 ? 'partial_coverage' : partialRefusal ? 'partial_refusal' : 'partial_grounding']
        : ['Unsolved', 'low_coverage'];
  const [label, reason] = decide(covered / relevant.length, groundedRelevant === relevant.length);
  const [lenientLabel] = decide(coveredLenient / relevant.length, groundedLenient === relevant.length);
  const details = {
    partial_refusal: partialRefusal,
    coverage: covered / relevant.length,
    coverage_lenient: coveredLenient / relevant.length,
    relevant: relevant.length,
    grounded_relevant: groundedRelevant,
    unverifiable_relevant: relevant.filter((r) => grounded.get(r.name)?.evidence === false).length,
    lenient_label: lenientLabel,
  };
  return { label, reason, details };
}

/**
 * Per function with a successful call: whether its replies offered any distinctive value
 * (`evidence`) and whether the answer used one (`hit`). A call whose reply offers nothing after
 * echo exclusion, or only a cut fragment, is never a hit: an empty evidence set is no grounding.
 */
function groundCalls(
  query: ToolQuery,
  checks: { step: Trajectory['steps'][number]; check: CallCheck }[],
  answer: string,
): Grounding {
  const answerTokens = tokensOf(answer);
  const answerDigits = digitRunsOf(answer);
  let echo = query.query;
  const grounded: Grounding = new Map();
  for (const { step, check } of checks) {
    echo += `\n${step.actionInput}`;
    if (!check.success) continue;
    const values = evidenceValues(step.reply.response, echo, step.reply.cut === true);
    const before = grounded.get(check.functionName!) ?? { hit: false, evidence: false };
    grounded.set(check.functionName!, {
      hit: before.hit || values.some((v) => valueHit(v, answerTokens, answerDigits)),
      evidence: before.evidence || values.length > 0,
    });
  }
  return grounded;
}
