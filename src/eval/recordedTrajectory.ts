/**
 * A recorded answer (recorded.ts) as a kiln trajectory, so the judges can score other people's
 * runs exactly as they score kiln's. Status codes are recovered from the observation texts.
 */
import { queryFunctions, resolveFunctionName, type ToolQuery } from '../toolbench/functions.js';
import { parseToolInput, statusCodeForError } from './envs/environment.js';
import { readFinishArguments } from './executeAction.js';
import { readObservation } from './observation.js';
import type { RecordedAnswer } from './recorded.js';
import { StatusCode, type Trajectory, type TrajectoryStep } from './trajectory.js';

export function recordedTrajectory(answer: RecordedAnswer, query: ToolQuery, category: string): Trajectory {
  const functions = queryFunctions(query);
  const steps: TrajectoryStep[] = answer.calls.map((call) => {
    const reply = readObservation(call.response);
    const isFinish = call.name === 'Finish';
    return {
      raw: '',
      parsed: true,
      thought: '',
      action: call.name,
      actionInput: call.arguments,
      functionName: resolveFunctionName(call.name, functions, { match: 'exact' })?.function.name ?? null,
      argsJson: parseToolInput(call.arguments) !== null,
      reply,
      code: isFinish ? finishCode(call.arguments) : statusCodeForError(reply.error),
      observation: call.response,
    };
  });
  return {
    queryId: answer.queryId,
    category,
    method: 'recorded',
    steps,
    finalAnswer: answer.finalAnswer,
    stop: 'recorded',
    llmCalls: steps.length,
    contextOverflows: 0,
  };
}

function finishCode(argumentText: string): number {
  const { returnType, finalAnswer } = readFinishArguments(argumentText);
  if (returnType === 'give_up_and_restart') return StatusCode.finishGiveUp;
  return returnType === 'give_answer' && finalAnswer !== undefined ? StatusCode.finishAnswer : StatusCode.badFinishInput;
}
