/**
 * Replay of recorded answers as a tool environment: a call gets the reply that was recorded for the
 * same group, query, function (spellings with and without a digit's `get_` are one function) and
 * (canonically equal) arguments, and the observation text exactly as recorded. A call that was
 * never recorded gets an error reply, so a policy that strays from the recording is visible in the
 * API-error counts.
 */
import { readObservation } from '../calls/observation.js';
import type { RecordedAnswerSet } from '../recorded/recordedAnswers.js';
import { canonicalFunctionName } from '../recorded/functionNames.js';
import { canonicalJson } from '../textSeededRandom.js';
import { StatusCode } from '../trajectory.js';
import { parseToolInput, type ApiCall, type EnvReply, type ToolEnvironment } from './environment.js';

export class ReplayEnvironment implements ToolEnvironment {
  readonly description: string;
  private readonly replies = new Map<string, { text: string; cut: boolean }>();

  constructor(answers: RecordedAnswerSet, source: string) {
    this.description = `replay of recorded answers from ${source}`;
    for (const answer of answers.all()) {
      for (const call of answer.calls) {
        const key = replayKey(answer.group, answer.queryId, call.name, call.arguments);
        // The first recording of a call wins, as the first reply is what the model would have seen.
        if (!this.replies.has(key)) this.replies.set(key, { text: call.response, cut: call.responseCut === true });
      }
    }
  }

  async call(call: ApiCall): Promise<EnvReply> {
    const recorded = this.replies.get(replayKey(call.category, call.query.query_id, call.functionName, call.actionInput));
    if (recorded === undefined) {
      return {
        reply: { error: `No recorded reply for ${call.functionName} with these arguments`, response: '' },
        code: StatusCode.ok,
      };
    }
    const reply = readObservation(recorded.text);
    return { reply: recorded.cut ? { ...reply, cut: true } : reply, code: StatusCode.ok, observation: recorded.text };
  }
}

function replayKey(group: string, queryId: number, name: string, argumentText: string): string {
  const args = parseToolInput(argumentText);
  return [group, queryId, canonicalFunctionName(name), args === null ? argumentText : canonicalJson(args)].join('\u0000');
}
