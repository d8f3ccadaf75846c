/**
 * Small directories of ToolEval converted answers, built the way ToolEval writes them: the
 * dict-message form (StableToolBench) and the `str()`-message form cut to 100 characters
 * (ToolBench), with the older Finish wording in available_tools.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiToFunction, FINISH_FUNCTION, type ToolFunction } from '../../../src/toolbench/functions.js';
import { pythonRepr } from '../../../src/toolbench/pythonRepr.js';
import { observationText } from '../../../src/eval/calls/observation.js';
import { api } from '../judges/trajectoryBuilder.js';

export const OLD_FINISH_WORDING =
  "If you think you get the result which can answer the task, call this function to give the final answer. Or, if you think you can't handle the task from this status, call this function to restart.";

export function availableTools(): ToolFunction[] {
  return [
    apiToFunction(api('Weather Now', 'Current Temp', ['city'])),
    apiToFunction(api('Weather Now', 'Forecast')),
    // Recorded without the `get_` that standardize puts before a leading digit.
    { ...apiToFunction(api('Weather Now', '4 Day Outlook')), name: '4_day_outlook_for_weather_now' },
    { ...FINISH_FUNCTION, description: OLD_FINISH_WORDING },
  ];
}

export interface Call {
  name: string;
  arguments: string;
  reply?: unknown;
}

export const finishArgs = (answer: string, returnType = 'give_answer') =>
  `{\n  "return_type": "${returnType}",\n  "final_answer": ${JSON.stringify(answer)}\n}`;

/** One converted entry; `form: 'str'` writes each tool message as str() cut to 100 characters. */
export function entry(query: string, calls: Call[], form: 'dict' | 'str' | 'str-whole'): Record<string, unknown> {
  const finish = calls.at(-1)?.name === 'Finish' ? calls.at(-1)!.arguments : '';
  const message = (c: Call) => {
    const dict = { name: c.name, arguments: c.arguments, response: c.name === 'Finish' ? '' : observationText({ error: '', response: c.reply }) };
    if (form === 'dict') return dict;
    return form === 'str' ? pythonRepr(dict).slice(0, 100) : pythonRepr(dict);
  };
  const nodes = [
    { role: 'system', message: '' },
    { role: 'user', message: form === 'dict' ? '' : query.slice(0, 100) },
    ...calls.map((c) => ({ role: 'tool', message: message(c) })),
  ].map((n) => ({ ...n, next: [] as unknown[] }));
  for (let i = 0; i + 1 < nodes.length; i++) nodes[i]!.next.push(nodes[i + 1]);
  return {
    query,
    available_tools: availableTools(),
    answer: { method: 'chatgpt_CoT', total_steps: nodes.length, final_answer: finish, answer_details: [nodes[0]] },
  };
}

export const OSLO = 'What is the temperature in Oslo right now?';
export const TROMSO = 'How will the next days be in Tromso?';

/** Two groups that share query id 5, answered differently, plus a refusal and an unfinished run. */
export function writeConvertedDir(dir: string, form: 'dict' | 'str' | 'str-whole'): void {
  mkdirSync(dir, { recursive: true });
  const g1 = {
    '5': entry(OSLO, [
      { name: 'current_temp_for_weather_now', arguments: '{\n  "city": "Oslo"\n}', reply: { temperature: 17.5, condition: 'drizzle overcast' } },
      { name: 'Finish', arguments: finishArgs('Oslo has 17.5 degrees with drizzle and overcast skies.') },
    ], form),
    '6': entry(OSLO, [{ name: 'Finish', arguments: finishArgs("Sorry, I couldn't reach the weather service.") }], form),
    '7': entry(OSLO, [{ name: 'current_temp_for_weather_now', arguments: '{"city": "Oslo"}', reply: { temperature: 3 } }], form),
  };
  const g2 = {
    '5': entry(TROMSO, [
      { name: '4_day_outlook_for_weather_now', arguments: '{}', reply: { outlook: 'Sunny Wednesday, windy Thursday in Tromso' } },
      { name: 'Finish', arguments: finishArgs('Tromso: sunny on Wednesday, windy on Thursday.') },
    ], form),
  };
  writeFileSync(join(dir, 'G1_instruction.json'), JSON.stringify(g1));
  writeFileSync(join(dir, 'G2_instruction.json'), JSON.stringify(g2));
}
