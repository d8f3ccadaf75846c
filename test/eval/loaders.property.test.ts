/**
 * Property tests of the evaluation's loaders under random damage (issue 15): query files, ToolEval
 * converted-answer files (both message forms) and tool replies. A damaged input must give a clear
 * error naming the file (and the field where there is one) or a correct load; never a crash of
 * another kind, a hang (the test's own time limit bounds it), or output out of proportion to the
 * input. One fixed case sits beside each property for debugging.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envReplyFromServer } from '../../src/eval/envs/toolServerBody.js';
import { replySucceeded } from '../../src/eval/judges/callValidity.js';
import { evidenceValues } from '../../src/eval/judges/evidence.js';
import { observationText, readObservation } from '../../src/eval/calls/observation.js';
import { loadQueries } from '../../src/eval/queries.js';
import { loadRecordedAnswers } from '../../src/eval/recorded/recordedAnswers.js';
import { recordedTrajectory } from '../../src/eval/recorded/recordedTrajectory.js';
import { judgeByRules } from '../../src/eval/judges/rules.js';
import { call, weatherQuery } from './judges/trajectoryBuilder.js';
import { deepJson, mutateText, mutateValue, textEdits, valueEdits } from './mutations.js';
import { entry, OSLO } from './recorded/convertedFixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// KILN_PROPERTY_RUNS raises the count for a longer search by hand.
const RUNS = Number(process.env.KILN_PROPERTY_RUNS ?? 60);

/** Runs `load`; a thrown error must be a plain Error whose message names `file`. */
function loadsOrNamesFile<T>(file: string, load: () => T): T | undefined {
  try {
    return load();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(TypeError);
    expect(e).not.toBeInstanceOf(RangeError);
    expect((e as Error).message.startsWith(file)).toBe(true);
    return undefined;
  }
}

const validQueries = [weatherQuery(), { ...weatherQuery(), query_id: 2 }];
const validConverted = {
  '5': entry(OSLO, [
    { name: 'current_temp_for_weather_now', arguments: '{"city": "Oslo"}', reply: { temperature: 17.5 } },
    { name: 'Finish', arguments: '{"return_type": "give_answer", "final_answer": "17.5"}' },
  ], 'dict'),
  '6': entry(OSLO, [{ name: 'current_temp_for_weather_now', arguments: '{"city": "Oslo"}', reply: { temperature: 3 } }], 'str'),
};

function checkQueries(file: string, inputBytes: number): void {
  const loaded = loadsOrNamesFile(file, () => loadQueries(file));
  if (!loaded) return;
  for (const { query } of loaded.queries) {
    expect(typeof query.query).toBe('string');
    expect(Number.isInteger(query.query_id)).toBe(true);
    for (const a of query.api_list) expect([a.tool_name, a.api_name, a.category_name].every((s) => typeof s === 'string')).toBe(true);
  }
  expect(JSON.stringify(loaded.queries.map((q) => ({ ...q, query: { ...q.query, functions: undefined } }))).length).toBeLessThan(20 * inputBytes + 10_000);
}

function checkConverted(file: string, inputBytes: number): void {
  const answers = loadsOrNamesFile(file, () => loadRecordedAnswers(file));
  if (answers) {
    for (const a of answers.all()) {
      expect(a.calls.every((c) => typeof c.name === 'string' && typeof c.arguments === 'string' && typeof c.response === 'string')).toBe(true);
      expect(a.calls.reduce((n, c) => n + c.response.length + c.arguments.length, 0)).toBeLessThanOrEqual(2 * inputBytes);
    }
  }
  const queries = loadsOrNamesFile(file, () => loadQueries(file));
  if (answers && queries) {
    // What loads is judged without a crash.
    for (const { query, category } of queries.queries) {
      const answer = answers.get(category, query.query_id);
      if (answer) judgeByRules(query, recordedTrajectory(answer, query, category));
    }
  }
}

/** Structural and text damage to `valid`, written to `name` and handed to `check`. */
function damageProperties(name: string, valid: unknown, check: (file: string, inputBytes: number) => void): void {
  const file = join(dir, name);
  const run = (text: string) => {
    writeFileSync(file, text);
    check(file, text.length);
  };
  it('structural edits: a clear error naming the file (and field), or a correct load', () => {
    fc.assert(fc.property(valueEdits, (edits) => run(JSON.stringify(mutateValue(valid, edits)))), { numRuns: RUNS });
  });
  it('text edits: the same', () => {
    fc.assert(fc.property(textEdits, (edits) => run(mutateText(JSON.stringify(valid), edits))), { numRuns: RUNS });
  });
}

describe('query files under random damage', () => {
  it('fixed case: a query whose api_list entry lost its tool name', () => {
    const file = join(dir, 'fixed-queries.json');
    writeFileSync(file, JSON.stringify([{ ...weatherQuery(), api_list: [{ api_name: 'x', category_name: 'c' }] }]));
    expect(() => loadQueries(file)).toThrow(`${file}[0].api_list[0]: field "tool_name" must be a string`);
  });

  damageProperties('queries.json', validQueries, checkQueries);
});

describe('ToolEval converted-answer files under random damage', () => {
  it('fixed case: a tool message that is neither a dict nor its str()', () => {
    const file = join(dir, 'G1_instruction.json');
    const bad = structuredClone(validConverted) as unknown as Record<string, { answer: { answer_details: { next: { next: { message: unknown }[] }[] }[] } }>;
    bad['5']!.answer.answer_details[0]!.next[0]!.next[0]!.message = 42;
    writeFileSync(file, JSON.stringify(bad));
    expect(() => loadRecordedAnswers(file)).toThrow(`${file}: query 5: answer_details node 2 "message": expected a dict or Python's str() of one`);
  });

  damageProperties('G1_instruction.json', validConverted, checkConverted);
});

describe('tool replies under random damage', () => {
  const valid = JSON.stringify({ error: '', response: { temperature: 17.5, days: [{ day: 'Tuesday', summary: "thunder's coming" }] } });

  /** A reply text read as a server's and as a recorded observation, then checked and judged: never a throw. */
  function readAndJudge(text: string): void {
    for (const reply of [envReplyFromServer({ kind: 'reply', status: 200, text }).reply, readObservation(text)]) {
      const step = call('current_temp_for_weather_now', { city: 'Oslo' }, reply);
      expect(typeof observationText(reply)).toBe('string');
      replySucceeded(step);
      evidenceValues(reply.response, 'Oslo', reply.cut === true);
      expect(JSON.stringify(reply).length).toBeLessThan(4 * text.length + 1000);
    }
  }

  it('fixed case: a reply nested 5,000 levels deep', () => {
    const reply = envReplyFromServer({ kind: 'reply', status: 200, text: `{"error": "", "response": ${deepJson(5000)}}` }).reply;
    expect(reply.error).toMatch(/nested deeper than 256 levels/);
    readAndJudge(`{"error": "", "response": ${deepJson(5000)}}`);
  });

  it('fixed case (found by the property below): a raw control character in a cut reply\'s error', () => {
    expect(readObservation('{"error": "\u0000bad", "response": "cut her')).toEqual({ error: '\u0000bad', response: 'cut her', cut: true });
    readAndJudge('{"\u0000error": "", "response": 1');
  });

  it('structural edits are read, checked and judged without a throw', () => {
    fc.assert(
      fc.property(valueEdits, (edits) => readAndJudge(JSON.stringify(mutateValue(JSON.parse(valid), edits)))),
      { numRuns: RUNS },
    );
  });

  it('text edits, cut and deeply nested texts too', () => {
    fc.assert(
      fc.property(textEdits, fc.integer({ min: 0, max: 6000 }), (edits, depth) => {
        readAndJudge(mutateText(valid, edits));
        readAndJudge(mutateText(`{"error": "", "response": ${deepJson(depth, '"x"')}}`, edits));
      }),
      { numRuns: RUNS },
    );
  });
});
