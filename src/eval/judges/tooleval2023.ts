/**
 * The pass rule of ToolEval's first pass-rate script (OpenBMB/ToolBench,
 * toolbench/tooleval/pass_rate.py at commit b2384c2), which produced the numbers of ToolBench's
 * first leaderboard: a query passes when the run gave an answer through Finish with
 * `give_answer`, and the raw Finish argument text, lower-cased, contains none of five refusal
 * words. Nothing else is checked: no tool call, no content. Kept so those numbers can be
 * reproduced exactly; docs/judge.md says how it differs from the other judges.
 */
import type { ToolQuery } from '../../toolbench/functions.js';
import { readFinishArguments } from '../calls/actionInput.js';
import type { Trajectory } from '../trajectory.js';
import { LABEL_SCORE, type Judge, type Judgement } from './judge.js';

/** The script's words, matched as substrings of the lower-cased Finish arguments. */
export const TOOLEVAL_2023_REFUSAL_WORDS = ['sorry', 'apologize', 'apology', 'unfortunately', "couldn't"] as const;

export class ToolEval2023Judge implements Judge {
  readonly description = 'ToolEval 2023 pass rule (pass_rate.py at b2384c2: a give_answer Finish without refusal words; Solved 1 / Unsolved 0)';

  async judge(_query: ToolQuery, trajectory: Trajectory): Promise<Judgement> {
    return judgeToolEval2023(trajectory);
  }
}

export function judgeToolEval2023(t: Trajectory): Judgement {
  const verdict = (solved: boolean, reason: string): Judgement => ({
    label: solved ? 'Solved' : 'Unsolved',
    score: LABEL_SCORE[solved ? 'Solved' : 'Unsolved'],
    reasons: [reason],
    details: {},
  });
  // The script counts a run as answered when some Finish give_answer was accepted, i.e. it carried
  // a final_answer; the text checked is that call's whole argument string.
  const finish = readFinishArguments(t.finalAnswer);
  if (t.finalAnswer === '' || finish.returnType !== 'give_answer' || finish.finalAnswer === undefined) {
    return verdict(false, 'no_give_answer');
  }
  const lower = t.finalAnswer.toLowerCase();
  const word = TOOLEVAL_2023_REFUSAL_WORDS.find((w) => lower.includes(w));
  return word === undefined ? verdict(true, 'give_answer') : verdict(false, `refusal_word:${word}`);
}
