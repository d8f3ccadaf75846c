/**
 * A recorded answer (recorded/recordedAnswers.ts) as a kiln trajectory, so the judges can score other people's
 * runs exactly as they score kiln's. Status codes are recovered from the observation texts; a
 * reply the recording cut short is marked `cut`; the last Finish takes the recorded final answer.
 */
import { queryFunctions, type ToolQuery } from '../../toolbench/functions.js';
import { parseToolInput, statusCodeForError } from '../envs/environment.js';
import { readFinishArguments } from '../calls/actionInput.js';
import { readObservation } from '../calls/observation.js';
import type { RecordedAnswer } from './recordedAnswers.js';
import { sameFunction } from './functionNames.js';
import { StatusCode, type Trajectory, type TrajectoryStep } from '../trajectory.js';

export function recordedTrajectory(answer: RecordedAnswer, query: ToolQuery, category: string): Trajectory {
  const functions = queryFunctions(query);
  const steps: TrajectoryStep[] = answer.calls.map((call, i) => {
    const isFinish = call.name === 'Finish';
    const args = isFinish && i === answer.calls.length - 1 && answer.finalAnswer !== '' ? answer.finalAnswer : call.arguments;
    const observed = readObservation(call.response);
    const reply = call.responseCut ? { ...observed, cut: true } : observed;
    const offered = isFinish ? 'Finish' : functions.find((f) => f.name !== 'Finish' && sameFunction(f.name, call.name))?.name;
    return {
      raw: '',
      parsed: true,
      thought: '',
      action: offered ?? call.name,
      actionInput: args,
      functionName: offered ?? null,
      argsJson: parseToolInput(args) !== null,
      reply,
      code: isFinish ? finishCode(args) : statusCodeForError(reply.error),
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
