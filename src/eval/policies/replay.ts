/**
 * Recorded answers as a policy: the k-th model call of a query returns the k-th recorded call of
 * that query as ReAct text. Together with the replay environment it re-runs someone else's
 * trajectories through kiln's loop, judges and report.
 */
import type { Policy, PolicyCompletion, PolicyRequest } from '../policy.js';
import type { RecordedAnswer } from '../recorded.js';
import { renderReact } from '../react.js';

export class ReplayPolicy implements Policy {
  readonly description: string;
  readonly maxBatch = 64;

  constructor(
    private readonly answers: Map<number, RecordedAnswer>,
    source: string,
  ) {
    this.description = `replay of recorded answers from ${source}`;
  }

  async complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    return requests.map((r) => {
      const answer = this.answers.get(r.query.query_id);
      if (!answer) return { ok: false, kind: 'error', message: `no recorded answer for query ${r.query.query_id}` };
      const call = answer.calls[r.callIndex];
      if (!call) return { ok: false, kind: 'error', message: `the recording of query ${r.query.query_id} has no call ${r.callIndex + 1}` };
      return { ok: true, text: renderReact({ thought: '', action: call.name, actionInput: call.arguments }).slice(1) };
    });
  }
}
