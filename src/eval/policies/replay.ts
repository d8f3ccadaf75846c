/**
 * Recorded answers as a policy: the k-th model call of a query returns the k-th recorded call of
 * that query (same group, same id) as ReAct text. A recorded Finish is replayed with the recorded
 * `final_answer`, which is whole where the call's own arguments may have been cut. Together with
 * the replay environment it re-runs someone else's trajectories through kiln's loop and judges.
 */
import type { Policy, PolicyCompletion, PolicyRequest } from './policy.js';
import type { RecordedAnswerSet } from '../recorded/recordedAnswers.js';
import { renderReact } from '../agent/react.js';
import { sameFunction } from '../recorded/functionNames.js';

export class ReplayPolicy implements Policy {
  readonly description: string;
  readonly maxBatch = 64;

  constructor(
    private readonly answers: RecordedAnswerSet,
    source: string,
  ) {
    this.description = `replay of recorded answers from ${source}`;
  }

  async complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    return requests.map((r) => {
      const id = r.query.query_id;
      const answer = this.answers.get(r.category, id);
      if (!answer) return { ok: false, kind: 'error', message: `no recorded answer for ${r.category} query ${id}` };
      const call = answer.calls[r.callIndex];
      if (!call) return { ok: false, kind: 'error', message: `the recording of ${r.category} query ${id} has no call ${r.callIndex + 1}` };
      const isLastFinish = call.name === 'Finish' && r.callIndex === answer.calls.length - 1 && answer.finalAnswer !== '';
      const actionInput = isLastFinish ? answer.finalAnswer : call.arguments;
      // Spoken in the offered function's spelling, so a recorded name without `get_` still resolves.
      const action = r.functions.find((f) => sameFunction(f.name, call.name))?.name ?? call.name;
      return { ok: true, text: renderReact({ thought: '', action, actionInput }).slice(1) };
    });
  }
}
