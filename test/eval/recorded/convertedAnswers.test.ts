import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEvalCli, type CliIo } from '../../../src/eval/cli/cli.js';
import { loadQueries } from '../../../src/eval/queries.js';
import { loadRecordedAnswers } from '../../../src/eval/recorded/recordedAnswers.js';
import { readToolMessage } from '../../../src/eval/recorded/convertedAnswer.js';
import type { QueryResult } from '../../../src/eval/report/results.js';
import { pythonRepr } from '../../../src/toolbench/pythonRepr.js';
import { OLD_FINISH_WORDING, OSLO, writeConvertedDir } from './convertedFixtures.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-converted-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: { write: (t: string) => err.push(t), isTTY: false } };
}

function results(out: string): QueryResult[] {
  return readFileSync(join(out, 'trajectories.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QueryResult);
}

describe('a tool message in str() form', () => {
  const whole = { name: 'f_for_t', arguments: '{"q": "it\'s"}', response: '{"error": "", "response": "ok"}' };

  it('is read whole when whole', () => {
    expect(readToolMessage(pythonRepr(whole), 'm')).toEqual(whole);
  });

  it('keeps what survives a cut and marks the rest', () => {
    const text = pythonRepr(whole);
    const inResponse = readToolMessage(text.slice(0, text.indexOf('ok')), 'm');
    expect(inResponse).toEqual({ name: 'f_for_t', arguments: whole.arguments, response: '{"error": "", "response": "', responseCut: true });
    const inArguments = readToolMessage(text.slice(0, 30), 'm');
    expect(inArguments).toMatchObject({ name: 'f_for_t', argumentsCut: true, responseCut: true, response: '' });
  });

  it('names the message in the error when it is not a dict', () => {
    expect(() => readToolMessage("['f', 'g']", 'file.json: query 3 node 2 "message"')).toThrow(/file\.json: query 3 node 2 "message": expected Python's str\(\)/);
    expect(() => readToolMessage(42, 'where')).toThrow(/where: expected a dict/);
  });
});

describe.each(['dict', 'str', 'str-whole'] as const)('ToolEval converted answers, %s messages', (form) => {
  const dir = join(root, form);
  writeConvertedDir(dir, form);

  it('load as recorded answers keyed by (group, id)', () => {
    const answers = loadRecordedAnswers(dir);
    expect(answers.size).toBe(4);
    expect(answers.get('G1_instruction', 5)!.calls[0]!.name).toBe('current_temp_for_weather_now');
    expect(answers.get('G2_instruction', 5)!.calls[0]!.name).toBe('4_day_outlook_for_weather_now');
    expect(answers.get('G3_instruction', 5)).toBeUndefined();
    const cut = answers.get('G1_instruction', 5)!.calls[0]!;
    expect(cut.responseCut === true).toBe(form === 'str');
  });

  it('load as queries, functions (and the recorded Finish wording) from available_tools', () => {
    const { queries } = loadQueries(dir);
    expect(queries.map((q) => `${q.category}/${q.query.query_id}`)).toEqual(['G1_instruction/5', 'G1_instruction/6', 'G1_instruction/7', 'G2_instruction/5']);
    const functions = queries[0]!.query.functions!;
    expect(functions.at(-1)!.description).toBe(OLD_FINISH_WORDING);
    expect(queries[0]!.query.api_list[0]).toMatchObject({ tool_name: 'weather_now', api_name: 'current_temp' });
  });

  it('replay through eval.js with --queries and --replay pointing at the same directory', async () => {
    const out = join(root, `out-replay-${form}`);
    const io = capture();
    const code = await runEvalCli(['--policy', 'replay', '--env', 'replay', '--replay', dir, '--queries', dir, '--max-steps', '12', '--out', out], io);
    expect(io.err.join('')).not.toMatch(/failed/);
    expect(code).toBe(0);
    const byKey = new Map(results(out).map((r) => [`${r.category}/${r.query_id}`, r]));
    // Group G2's query 5 ran G2's calls, not G1's.
    expect(byKey.get('G2_instruction/5')!.trajectory.steps[0]!.action).toBe('4_day_outlook_for_weather_now');
    const oslo = byKey.get('G1_instruction/5')!.trajectory;
    expect(oslo.steps[0]!.reply.error).toBe('');
    // The recorded observation is what the step shows; the Finish carries the recorded final_answer.
    const recorded = loadRecordedAnswers(dir).get('G1_instruction', 5)!;
    expect(oslo.steps[0]!.observation).toBe(recorded.calls[0]!.response);
    expect(oslo.finalAnswer).toBe(recorded.finalAnswer);
    expect(oslo.stop).toBe('finish');
    // A recording that ends without Finish ends the replay there.
    expect(byKey.get('G1_instruction/7')!.trajectory).toMatchObject({ stop: 'policy_error', error: 'the recording of G1_instruction query 7 has no call 2' });
    if (form === 'str') expect(byKey.get('G1_instruction/5')!.reasons).toEqual(['all_calls_failed']);
    else expect(byKey.get('G1_instruction/5')!.label).not.toBe('Unsolved');
  });

  it('judge with --judge tooleval-2023, named in the report', async () => {
    const out = join(root, `out-2023-${form}`);
    const io = capture();
    const argv = ['--policy', 'replay', '--env', 'replay', '--replay', dir, '--queries', dir, '--max-steps', '12', '--judge', 'tooleval-2023', '--out', out];
    expect(await runEvalCli(argv, io)).toBe(0);
    const labels = Object.fromEntries(results(out).map((r) => [`${r.category}/${r.query_id}`, `${r.label}/${r.reasons[0]}`]));
    expect(labels).toEqual({
      'G1_instruction/5': 'Solved/give_answer',
      'G1_instruction/6': "Unsolved/refusal_word:sorry",
      'G1_instruction/7': 'Unsolved/no_give_answer',
      'G2_instruction/5': 'Solved/give_answer',
    });
    expect(io.out.join('')).toContain('ToolEval 2023 pass rule');
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).judge).toContain('pass_rate.py at b2384c2');
  });
});

describe('queries from converted answers', () => {
  it('a field of the wrong type is named with its file and query', () => {
    const dir = join(root, 'bad');
    writeConvertedDir(dir, 'dict');
    const file = join(dir, 'G1_instruction.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    data['5'].available_tools = 'none';
    writeFileSync(file, JSON.stringify(data));
    expect(() => loadQueries(dir)).toThrow(`${file}: query 5: field "available_tools" must be an array of functions`);
  });

  it('the same query text is kept verbatim', () => {
    expect(loadQueries(join(root, 'dict')).queries[0]!.query.query).toBe(OSLO);
  });
});
