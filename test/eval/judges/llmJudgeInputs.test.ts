import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEvalCli, type CliIo } from '../../../src/eval/cli/cli.js';
import { finishGate } from '../../../src/eval/judges/llm.js';
import { pythonJsonDumps } from '../../../src/eval/calls/pythonJson.js';
import type { ToolEvalAnswer } from '../../../src/eval/recorded/toolevalAnswer.js';
import { sendJson, startLocalServer } from '../localServer.js';
import { OLD_FINISH_WORDING, writeConvertedDir } from '../recorded/convertedFixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-llm-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const promptFile = join(dir, 'template.txt');
writeFileSync(
  promptFile,
  [
    '<function>\n<name>check_answer_status</name>\n<description>Q={query}\nA={answer}</description>\n</function>',
    '<function>\n<name>parse_answer_status</name>\n<description>Q={query}\nDETAIL={answer}</description>\n</function>',
    '<function>\n<name>check_task_solvable</name>\n<description>TASK={task}</description>\n</function>',
  ].join('\n'),
);

const capture = (): CliIo & { err: string[] } => {
  const err: string[] = [];
  return { err, stdout: () => undefined, stderr: { write: (t: string) => err.push(t), isTTY: false } };
};

describe('the LLM judge sends ToolEval its own inputs', () => {
  it.each(['str', 'dict'] as const)('for a replay of converted answers with %s messages: the recorded entry, as str() puts it', async (form) => {
    const answers = join(dir, form);
    writeConvertedDir(answers, form);
    const server = await startLocalServer((req, res) => {
      const body = JSON.parse(req.body) as { tool_choice: { function: { name: string } } };
      const name = body.tool_choice.function.name;
      const args = name === 'check_task_solvable' ? { task_status: 'Solvable', reason: 'r' } : { answer_status: name === 'check_answer_status' ? 'Unsure' : 'Solved', reason: 'r' };
      sendJson(res, 200, { choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name, arguments: JSON.stringify(args) } }] } }] });
    });
    const out = join(dir, `out-${form}`);
    try {
      const argv = ['--policy', 'replay', '--env', 'replay', '--replay', answers, '--queries', answers, '--ids', '5', '--categories', 'G1_instruction',
        '--max-steps', '12', '--judge', 'llm', '--judge-endpoint', `${server.url}/v1`, '--judge-prompts', promptFile, '--judge-samples', '1', '--out', out];
      const io = capture();
      expect(await runEvalCli(argv, io)).toBe(0);
    } finally {
      await server.close();
    }
    const entry = JSON.parse(readFileSync(join(answers, 'G1_instruction.json'), 'utf8'))['5'];
    const prompts = server.requests.map((r) => {
      const body = JSON.parse(r.body) as { tool_choice: { function: { name: string } }; messages: { content: string }[] };
      return [body.tool_choice.function.name, body.messages[0]!.content];
    });
    // The Finish gate let it through (the old repr-based gate rejected str() messages), and the
    // prompts hold the recorded query, final_answer and answer as ToolEval would fill them.
    expect(prompts).toEqual([
      ['check_answer_status', `Q=${entry.query}\nA=${entry.answer.final_answer}`],
      ['parse_answer_status', `Q=${entry.query}\nDETAIL=${pythonJsonDumps(entry.answer)}`],
    ]);
    const stored = JSON.parse(readFileSync(join(out, 'trajectories.jsonl'), 'utf8').trim());
    expect(stored.label).toBe('Solved');
  });

  it('the solvability check is given the recorded functions, with their Finish wording', async () => {
    const answers = join(dir, 'str');
    const server = await startLocalServer((req, res) => {
      const name = (JSON.parse(req.body) as { tool_choice: { function: { name: string } } }).tool_choice.function.name;
      const args = name === 'check_task_solvable' ? { task_status: 'Solvable', reason: 'r' } : { answer_status: 'Unsolved', reason: 'r' };
      sendJson(res, 200, { choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name, arguments: JSON.stringify(args) } }] } }] });
    });
    try {
      const argv = ['--policy', 'replay', '--env', 'replay', '--replay', answers, '--queries', answers, '--ids', '5', '--categories', 'G2_instruction',
        '--max-steps', '12', '--judge', 'llm', '--judge-endpoint', server.url, '--judge-prompts', promptFile, '--judge-samples', '1', '--judge-solvability', '--out', join(dir, 'out-solv')];
      expect(await runEvalCli(argv, capture())).toBe(0);
    } finally {
      await server.close();
    }
    const task = server.requests.map((r) => JSON.parse(r.body) as { messages: { content: string }[] }).at(-1)!.messages[0]!.content;
    expect(task).toContain(JSON.stringify(OLD_FINISH_WORDING).slice(1, -1));
    expect(task).toContain('4_day_outlook_for_weather_now');
  });
});

describe('finishGate', () => {
  const answer = (message: ToolEvalAnswer['answer']['answer_details'][number]['message'], finalAnswer = '{"return_type": "give_answer", "final_answer": "x"}'): ToolEvalAnswer => ({
    query: 'q',
    available_tools: [],
    answer: { method: 'CoT', total_steps: 1, final_answer: finalAnswer, answer_details: [{ role: 'tool', message, next: [] }] },
  });

  it('reads a str() message as it is, quotes of both kinds included', () => {
    expect(finishGate(answer(`{'name': 'Finish', 'arguments': '{\\n  "return_type": "give_answer", "final_an`))).toBeNull();
    expect(finishGate(answer({ name: 'Finish', arguments: '{}', response: '' }))).toBeNull();
    expect(finishGate(answer(`{'name': 'other_for_t', 'arguments': '{}'`))).toBe('No answer');
    expect(finishGate(answer(`{'name': 'Finish'`, ''))).toBe('Empty final answer!');
  });
});
