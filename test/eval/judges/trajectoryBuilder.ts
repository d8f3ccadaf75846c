/** Trajectories and queries built by hand, so each judge rule can be reached on purpose. */
import type { ApiEntry, ToolQuery } from '../../../src/toolbench/functions.js';
import { observationText } from '../../../src/eval/calls/observation.js';
import type { StopReason, ToolReply, Trajectory, TrajectoryStep } from '../../../src/eval/trajectory.js';

export function api(tool: string, name: string, required: string[] = []): ApiEntry {
  return {
    category_name: 'Weather',
    tool_name: tool,
    api_name: name,
    api_description: '',
    required_parameters: required.map((p) => ({ name: p, type: 'STRING', description: '', default: '' })),
    optional_parameters: [],
    method: 'GET',
  };
}

/** Oslo's weather: two APIs of one tool, both relevant unless told otherwise. */
export function weatherQuery(relevant: [string, string][] = [['Weather Now', 'Current Temp'], ['Weather Now', 'Forecast']]): ToolQuery {
  return {
    query: 'What is the temperature in Oslo right now, and the forecast?',
    query_id: 1,
    api_list: [api('Weather Now', 'Current Temp', ['city']), api('Weather Now', 'Forecast'), api('Weather Now', '4 Day Outlook'), api('Weather Now', 'Humidity')],
    'relevant APIs': relevant,
  };
}

export const TEMP_REPLY = { city: 'Oslo', temperature: 17.5, condition: 'drizzle overcast' };
export const FORECAST_REPLY = { days: [{ day: 'Tuesday', summary: 'thunderstorms expected' }] };

export function call(action: string, args: unknown, reply: ToolReply, code = 0): TrajectoryStep {
  const actionInput = typeof args === 'string' ? args : JSON.stringify(args);
  return { raw: '', parsed: true, thought: '', action, actionInput, functionName: action, argsJson: true, reply, code, observation: observationText(reply) };
}

export const temp = (reply: ToolReply = { error: '', response: TEMP_REPLY }) => call('current_temp_for_weather_now', { city: 'Oslo' }, reply);
export const forecast = (reply: ToolReply = { error: '', response: FORECAST_REPLY }) => call('forecast_for_weather_now', {}, reply);

export function finishInput(answer: unknown, returnType = 'give_answer'): string {
  return JSON.stringify({ return_type: returnType, final_answer: answer });
}

/** A run that ends with Finish give_answer `answer` after `steps`. */
export function answered(steps: TrajectoryStep[], answer: unknown, stop: StopReason = 'finish'): Trajectory {
  const input = finishInput(answer);
  return {
    queryId: 1,
    category: 'G1_instruction',
    method: 'cot',
    steps: [...steps, call('Finish', input, { error: '', response: 'successfully giving the final answer.' }, 3)],
    finalAnswer: input,
    stop,
    llmCalls: steps.length + 1,
    contextOverflows: 0,
  };
}

export const FULL_ANSWER = 'In Oslo it is 17.5 degrees with drizzle and overcast skies. Tuesday: thunderstorms expected.';
