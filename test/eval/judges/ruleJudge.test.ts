import { describe, expect, it } from 'vitest';
import { judgeByRules } from '../../../src/eval/judges/rules.js';
import type { Trajectory } from '../../../src/eval/trajectory.js';
import { answered, call, FORECAST_REPLY, forecast, FULL_ANSWER, temp, weatherQuery } from './trajectoryBuilder.js';

const query = weatherQuery();
const verdict = (t: Trajectory, q = query) => {
  const j = judgeByRules(q, t);
  return `${j.label}/${j.reasons[0]}`;
};

describe('rule judge: gates before any call is looked at', () => {
  it.each(['budget', 'context_overflow', 'policy_error'] as const)('a run stopped by %s is Unsolved', (stop) => {
    const t = answered([temp(), forecast()], FULL_ANSWER, stop);
    expect(verdict(t)).toBe(`Unsolved/${stop}`);
  });

  it('no Finish as the last step: no_answer', () => {
    const t = answered([temp(), forecast()], FULL_ANSWER);
    expect(verdict({ ...t, steps: t.steps.slice(0, -1) })).toBe('Unsolved/no_answer');
  });

  it('an empty Finish or a give-up: empty_or_give_up', () => {
    const t = answered([temp(), forecast()], FULL_ANSWER);
    expect(verdict({ ...t, finalAnswer: '' })).toBe('Unsolved/empty_or_give_up');
    expect(verdict({ ...t, finalAnswer: JSON.stringify({ return_type: 'give_up_and_restart' }) })).toBe('Unsolved/empty_or_give_up');
  });

  it('an answer without two word characters: empty_answer', () => {
    expect(verdict(answered([temp(), forecast()], ' . '))).toBe('Unsolved/empty_answer');
  });

  it('an answer that only refuses: refusal', () => {
    expect(verdict(answered([temp(), forecast()], 'Sorry, I could not get the weather. Please try again later.'))).toBe('Unsolved/refusal');
  });

  it('a Finish answer nested 8,000 levels deep is judged, not a stack overflow: answer_too_deep (F6)', () => {
    // Written as text: JSON.stringify itself overflows the stack at this depth.
    const input = `{"return_type": "give_answer", "final_answer": ${'['.repeat(8000)}"Oslo 17.5"${']'.repeat(8000)}}`;
    const t = answered([temp(), forecast()], 'placeholder');
    t.steps.at(-1)!.actionInput = input;
    expect(verdict({ ...t, finalAnswer: input })).toBe('Unsolved/answer_too_deep');
  });
});

describe('rule judge: a call succeeds only on a reply that parses and is not an error', () => {
  const only = (step: ReturnType<typeof temp>) => verdict(answered([step], FULL_ANSWER));

  it('an error reply fails', () => {
    expect(only(temp({ error: 'API not working error...', response: TEMP_TEXT }))).toBe('Unsolved/all_calls_failed');
  });

  it('a non-zero status fails', () => {
    expect(verdict(answered([call('current_temp_for_weather_now', { city: 'Oslo' }, { error: '', response: TEMP_TEXT }, 6)], FULL_ANSWER))).toBe(
      'Unsolved/all_calls_failed',
    );
  });

  it('an error in disguise fails', () => {
    expect(only(temp({ error: '', response: { message: 'Rate limit exceeded for Oslo 17.5' } }))).toBe('Unsolved/all_calls_failed');
  });

  it('a hallucinated name fails', () => {
    expect(only(call('weather_for_weather_now', { city: 'Oslo' }, { error: '', response: TEMP_TEXT }))).toBe('Unsolved/all_calls_failed');
  });

  it('arguments that do not fit the API fail (missing required, unknown name, not JSON)', () => {
    for (const args of [{}, { city: 'Oslo', units: 'C' }, "{'city': 'Oslo'}"]) {
      expect(only(call('current_temp_for_weather_now', args, { error: '', response: TEMP_TEXT }))).toBe('Unsolved/all_calls_failed');
    }
  });

  it('an empty response fails', () => {
    for (const response of ['', '[]', {}, '   ']) expect(only(temp({ error: '', response }))).toBe('Unsolved/all_calls_failed');
  });

  it("a reply cut to a fragment such as `[{'id': ` is no success", () => {
    expect(only(temp({ error: '', response: "[{'id': ", cut: true }))).toBe('Unsolved/all_calls_failed');
    expect(only(temp({ error: '', response: '{"temperature": 17', cut: true }))).toBe('Unsolved/all_calls_failed');
  });

  it('of cut free text the last, possibly cut, word does not count', () => {
    // Read whole, "warm" would be a success that grounds nothing (ungrounded), not a failed call.
    expect(only(temp({ error: '', response: 'warm', cut: true }))).toBe('Unsolved/all_calls_failed');
    expect(only(temp({ error: '', response: 'warm' }))).toBe('Unsolved/ungrounded');
  });

  it('a literal that does not parse gives only its whole values', () => {
    expect(only(temp({ error: '', response: "[{'id': " }))).toBe('Unsolved/all_calls_failed');
  });

  it('a recorded name without the `get_` standardize adds before a digit is the same function', () => {
    const t = answered([call('4_day_outlook_for_weather_now', {}, { error: '', response: { outlook: 'Sunny Wednesday, windy Thursday' } })], 'Sunny Wednesday then windy Thursday.');
    const j = judgeByRules(weatherQuery([['Weather Now', '4 Day Outlook']]), t);
    expect(j.details.hallucinated_names).toBe(0);
    expect(`${j.label}/${j.reasons[0]}`).toBe('Solved/solved');
  });
});

describe('rule judge: grounding needs evidence that survives whole and is used', () => {
  it('an answer that uses none of the replies: ungrounded', () => {
    expect(verdict(answered([temp(), forecast()], 'The weather in Oslo is as reported by the service.'))).toBe('Unsolved/ungrounded');
  });

  it('a reply with no distinctive value (only echoes of the query) grounds nothing', () => {
    const echo = temp({ error: '', response: { city: 'Oslo', request: 'temperature forecast' } });
    expect(verdict(answered([echo], 'Here is the temperature and forecast for Oslo.'))).toBe('Unsolved/ungrounded');
  });

  it('a number the query or the arguments already hold is no evidence', () => {
    const echoed = call('current_temp_for_weather_now', { city: 'Oslo 2024' }, { error: '', response: { city: 'Oslo 2024', code: 2024 } });
    expect(verdict(answered([echoed], 'Oslo 2024 it is.'), weatherQuery([['Weather Now', 'Current Temp']]))).toBe('Unsolved/ungrounded');
  });

  it('a string value is used only when half its distinctive words are in the answer', () => {
    const long = forecast({ error: '', response: { summary: 'thunderstorms expected across northern fjords tonight' } });
    expect(verdict(answered([temp(), long], 'In Oslo it is 17.5 degrees with drizzle; thunderstorms too.'))).toBe('Unsure/partial_grounding');
    expect(verdict(answered([temp(), long], 'In Oslo it is 17.5 degrees; thunderstorms expected across the fjords.'))).toBe('Solved/solved');
  });

  it('of a cut reply only whole values are evidence', () => {
    const cut = { error: '', response: "{'temperature': 17.5, 'condition': 'drizzle overc", cut: true };
    expect(verdict(answered([temp(cut), forecast()], 'It is drizzle in Oslo, thunderstorms expected Tuesday.'))).toBe('Unsure/partial_grounding');
    expect(verdict(answered([temp(cut)], 'Oslo has drizzle.'), weatherQuery([['Weather Now', 'Current Temp']]))).toBe('Unsolved/ungrounded');
    expect(verdict(answered([temp(cut)], 'Oslo: 17.5 degrees.'), weatherQuery([['Weather Now', 'Current Temp']]))).toBe('Solved/solved');
  });
});

describe('rule judge: coverage of the relevant APIs', () => {
  it('every relevant API called and used: solved', () => {
    expect(verdict(answered([temp(), forecast()], FULL_ANSWER))).toBe('Solved/solved');
  });

  it('half the relevant APIs: partial_coverage (Unsure)', () => {
    expect(verdict(answered([temp()], FULL_ANSWER))).toBe('Unsure/partial_coverage');
  });

  it('under half: low_coverage (Unsolved)', () => {
    const three = weatherQuery([['Weather Now', 'Current Temp'], ['Weather Now', 'Forecast'], ['Weather Now', 'Humidity']]);
    expect(verdict(answered([temp()], FULL_ANSWER), three)).toBe('Unsolved/low_coverage');
  });

  it('a relevant API called but its reply not used: partial_grounding (Unsure)', () => {
    expect(verdict(answered([temp(), forecast()], 'In Oslo it is 17.5 degrees with drizzle and overcast skies.'))).toBe('Unsure/partial_grounding');
  });

  it('a grounded answer with one refusing sentence: partial_refusal (Unsure)', () => {
    expect(verdict(answered([temp(), forecast()], `${FULL_ANSWER} Sorry, I could not get the humidity.`))).toBe('Unsure/partial_refusal');
  });

  it('no relevant APIs annotated is not full coverage: no_relevant_apis (Unsure)', () => {
    expect(verdict(answered([temp(), forecast()], FULL_ANSWER), weatherQuery([]))).toBe('Unsure/no_relevant_apis');
  });

  it('a relevant API whose reply offers nothing to use is excused, once another reply is used', () => {
    const quiet = forecast({ error: '', response: { request: 'forecast Oslo' } });
    expect(verdict(answered([temp(), quiet], 'In Oslo it is 17.5 degrees with drizzle.'))).toBe('Solved/solved');
  });

  it('the lenient label counts another API of the same tool', () => {
    const humidity = call('humidity_for_weather_now', {}, { error: '', response: { humidity: '81 percent damp' } });
    const j = judgeByRules(query, answered([temp(), humidity], 'Oslo: 17.5 degrees with drizzle, 81 percent damp.'));
    expect(j.label).toBe('Unsure');
    expect(j.details.lenient_label).toBe('Solved');
  });
});

const TEMP_TEXT = JSON.stringify({ temperature: 17.5, condition: 'drizzle overcast' });
void FORECAST_REPLY;
