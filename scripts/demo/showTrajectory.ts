/**
 * One evaluated query written out in full for a person to read: the query, every step the model
 * took with the observation it got, the final answer, and the judge's verdict with its reason.
 */
import { readFinishArguments } from '../../src/eval/calls/actionInput.js';
import type { QueryResult } from '../../src/eval/report/results.js';
import type { ExpectedCall } from './data.js';
import { madeExpectedCalls, namesAskedTopics } from './expectedCalls.js';

export function printTrajectory(result: QueryResult, query: string, expected: readonly ExpectedCall[], decoding: string, log: (line: string) => void): void {
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
  // The trajectory keeps Finish's whole Action Input, as ToolBench's answer files do; a reader wants the answer in it.
  const answer = t.finalAnswer === '' ? undefined : readFinishArguments(t.finalAnswer).finalAnswer;
  log(`final answer: ${answer === undefined ? '(none)' : String(answer)}`);
  log(`verdict: ${result.label} (${result.reasons.join(', ')}); run stopped: ${t.stop}`);
  // The rule judge reads the answer's evidence, not the arguments; the demo knows what was asked.
  const asked = expected.map((c) => `${c.function} ${JSON.stringify(c.arguments)}`).join('; ');
  log(`calls the query asks for: ${asked}; made with these arguments: ${madeExpectedCalls(result, expected) ? 'yes' : 'no'}`);
  const topics = expected.map((c) => c.topic).join(', ');
  log(`topics it asks about: ${topics}; named in the answer: ${namesAskedTopics(result, expected) ? 'yes' : 'no'}`);
}
