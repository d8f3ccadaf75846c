/**
 * Replay of recorded answers as a tool environment: a call gets the reply that was recorded for the
 * same query, function name and (canonically equal) arguments. A call that was never recorded gets
 * an error reply, so a policy that strays from the recording is visible in the API-error counts.
 */
import { readObservation } from '../observation.js';
import type { RecordedAnswer } from '../recorded.js';
import { canonicalJson } from '../seededRandom.js';
import { StatusCode } from '../trajectory.js';
import { parseToolInput, type ApiCall, type EnvReply, type ToolEnvironment } from './environment.js';

export class ReplayEnvironment implements ToolEnvironment {
  readonly description: string;
  private readonly replies = new Map<string, string>();

  constructor(answers: Map<number, RecordedAnswer>, source: string) {
    this.description = `replay of recorded answers from ${source}`;
    for (const answer of answers.values()) {
      for (const call of answer.calls) {
        const key = replayKey(answer.queryId, call.name, call.arguments);
        // The first recording of a call wins, as the first reply is what the model would have seen.
        if (!this.replies.has(key)) this.replies.set(key, call.response);
      }
    }
  }

  async call(call: ApiCall): Promise<EnvReply> {
    const text = this.replies.get(replayKey(call.query.query_id, call.functionName, call.actionInput));
    if (text === undefined) {
      return {
        reply: { error: `No recorded reply for ${call.functionName} with these arguments`, response: '' },
        code: StatusCode.ok,
      };
    }
    return { reply: readObservation(text), code: StatusCode.ok };
  }
}

function replayKey(queryId: number, name: string, argumentText: string): string {
  const args = parseToolInput(argumentText);
  return `${queryId}\u0000${name}\u0000${args === null ? argumentText : canonicalJson(args)}`;
}
