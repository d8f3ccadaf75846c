/**
 * One evaluated query written out in full for a person to read: the query, every step the model
 * took with the observation it got, the final answer, and the judge's verdict with its reason.
 */
import type { QueryResult } from '../../src/eval/report/results.js';

export function printTrajectory(result: QueryResult, query: string, decoding: string, log: (line: string) => void): void {
  const t = result.trajectory;
  log(`\n== one held-out trajectory (${decoding}): ${result.category}, query ${result.query_id}`);
  log(`query: ${query}`);
  t.steps.forEach((step, i) => {
    log(`-- step ${i + 1}${step.parsed ? '' : ' (did not parse as Thought / Action / Action Input)'}`);
    log(`Thought: ${step.thought}`);
    log(`Action: ${step.action}`);
    log(`Action Input: ${step.actionInput}`);
    if (step.action !== 'Finish') log(`Observation: ${step.observation}`);
  });
  log(`final answer: ${t.finalAnswer === '' ? '(none)' : t.finalAnswer}`);
  log(`verdict: ${result.label} (${result.reasons.join(', ')}); run stopped: ${t.stop}`);
}
