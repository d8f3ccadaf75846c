import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEvalCli, type CliIo } from '../../src/eval/cli/cli.js';
import { parseArgs } from '../../src/eval/cli/cliArgs.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';
import { sendJson, startLocalServer } from './localServer.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: { write: (t: string) => err.push(t), isTTY: false } };
}

describe('eval command line', () => {
  it('prints help', async () => {
    const io = capture();
    expect(await runEvalCli(['--help'], io)).toBe(0);
    expect(io.out.join('')).toMatch(/^Usage: node eval\.js --model <dir\|hub id>/);
    expect(io.out.join('')).toContain('--judge <rules|llm|tooleval-2023>');
  });

  it('rejects bad usage with exit code 2 and a reason', async () => {
    for (const [argv, message] of [
      [['--frobnicate'], 'unknown option --frobnicate'],
      [['--env', 'moon'], '--env must be one of offline, stabletoolbench, rapidapi, replay'],
      [['--limit', 'ten'], '--limit must be a non-negative integer'],
      [['--queries', '/nonexistent/queries'], 'no queries'],
    ] as const) {
      const io = capture();
      expect(await runEvalCli([...argv], io)).toBe(2);
      expect(io.err.join('')).toContain(message);
    }
  });

  it('parses --name=value and flags', () => {
    expect(parseArgs(['--limit=3', '--fresh', '--judge', 'llm'])).toMatchObject({ limit: 3, fresh: true, judge: 'llm', env: 'offline' });
  });
});

describe.skipIf(!toolbenchDir)(`eval command on the shared data ${toolbenchDir ? '' : skipReasonNoToolbench}`, () => {
  const sample = join(toolbenchDir ?? '', 'eval-sample', 'stabletoolbench');
  const queries = join(toolbenchDir ?? '', 'test');

  it('fails clearly when the kiln model cannot be loaded', async () => {
    const io = capture();
    const out = mkdtempSync(join(tmpdir(), 'kiln-cli-model-'));
    dirs.push(out);
    expect(await runEvalCli(['--model', '/nonexistent/checkpoint', '--queries', queries, '--limit', '1', '--out', out], io)).toBe(1);
    expect(io.err.join('')).toMatch(/^eval: /);
  });

  it('replays recorded answers end to end, writes the report, and resumes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-cli-replay-'));
    dirs.push(out);
    const argv = [
      '--policy', 'replay', '--env', 'replay',
      '--replay', join(sample, 'model_predictions_converted', 'virtual_chatgpt_cot', 'G1_instruction.json'),
      '--queries', queries, '--categories', 'G1_instruction', '--ids', '588,608,1073',
      '--max-steps', '12', '--out', out,
    ];
    const io = capture();
    expect(await runEvalCli(argv, io)).toBe(0);
    const markdown = io.out.join('');
    expect(markdown).toContain('| model | G1_instr | Avg |');
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // The same labels the rule judge gives these recorded CoT answers directly (judgeAgreement).
    expect(summary.categories[0].labels).toEqual({ Solved: 2, Unsure: 0, Unsolved: 1 });
    expect(io.err.join('')).toContain('3/3');

    const again = capture();
    expect(await runEvalCli(argv, again)).toBe(0);
    expect(again.err.join('')).toContain('resumed: 3 queries already had results');

    const other = capture();
    expect(await runEvalCli([...argv, '--max-steps', '4'], other)).toBe(1);
    expect(other.err.join('')).toContain('max_steps differ');
  });

  it('evaluates a model behind a local OpenAI-compatible endpoint', async () => {
    const server = await startLocalServer((req, res) => {
      const body = JSON.parse(req.body) as { messages: { role: string; content: string }[] };
      // First turn: a tool call offered through `tools`; second turn: Finish as plain ReAct text.
      const message =
        body.messages.length === 2
          ? { role: 'assistant', content: 'look it up', tool_calls: [{ id: 'c', type: 'function', function: { name: 'not_a_function', arguments: '{}' } }] }
          : { role: 'assistant', content: 'Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "nothing"}' };
      sendJson(res, 200, { choices: [{ index: 0, message }] });
    });
    const out = mkdtempSync(join(tmpdir(), 'kiln-cli-openai-'));
    dirs.push(out);
    const io = capture();
    try {
      const code = await runEvalCli(
        ['--policy', 'openai', '--endpoint', `${server.url}/v1`, '--openai-tools', '--queries', queries, '--limit', '1', '--out', out, '--no-baselines'],
        io,
      );
      expect(code).toBe(0);
    } finally {
      await server.close();
    }
    expect(server.requests).toHaveLength(12);
    const first = JSON.parse(server.requests[0]!.body);
    expect(first.tools.at(-1).function.name).toBe('Finish');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    for (const c of summary.categories) {
      expect(c.metrics).toMatchObject({ finishRate: 1, hallucinatedNames: 1 });
      expect(c.reasons).toEqual({ all_calls_failed: 1 });
    }
    expect(io.out.join('')).not.toContain('not comparable');
  });

  it('computes the rule judge agreement', async () => {
    const io = capture();
    expect(await runEvalCli(['--judge-agreement', '--eval-sample', sample, '--queries', queries], io)).toBe(0);
    expect(io.out.join('')).toContain("Agreement with ToolEval's majority label: 83.3% (5/6)");
  });
});
