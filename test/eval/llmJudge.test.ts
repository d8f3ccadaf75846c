import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadJudgePrompts } from '../../src/eval/judges/judgePrompts.js';
import { LlmJudge, type LlmJudgeOptions } from '../../src/eval/judges/llm.js';
import type { Trajectory, TrajectoryStep } from '../../src/eval/trajectory.js';
import type { ToolQuery } from '../../src/toolbench/functions.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';
import { sendJson, startLocalServer, type RecordedRequest } from './localServer.js';

const KEY = 'sk-judge-secret-987654321';
const dir = mkdtempSync(join(tmpdir(), 'kiln-llm-judge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Test prompts in kiln's own words, in ToolEval's template.txt layout.
const promptFile = join(dir, 'template.txt');
writeFileSync(
  promptFile,
  [
    '<function>\n<name>check_answer_status</name>\n<description>\nQ={query}\nA={answer}\n</description>\n</function>',
    '<function>\n<name>parse_answer_status</name>\n<description>\nQ={query}\nDETAIL={answer}\n</description>\n</function>',
    '<function>\n<name>check_task_solvable</name>\n<description>\nTASK={task}\n</description>\n</function>',
  ].join('\n\n'),
);

const query: ToolQuery = { query: 'How tall is the tower?', query_id: 7, api_list: [], 'relevant APIs': [] };

function step(action: string, actionInput: string): TrajectoryStep {
  return { raw: '', parsed: true, thought: '', action, actionInput, functionName: action, argsJson: true, reply: { error: '', response: 'ok' }, code: 0, observation: '{"error": "", "response": "330 m"}' };
}

const finishInput = JSON.stringify({ return_type: 'give_answer', final_answer: 'It is 330 m tall.' });
const answered: Trajectory = {
  queryId: 7, category: 'G1_instruction', method: 'cot', stop: 'finish', llmCalls: 2, contextOverflows: 0,
  steps: [step('height_for_towers', '{}'), step('Finish', finishInput)],
  finalAnswer: finishInput,
};

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

/** A fake OpenAI-compatible server answering each forced function from `script[name]` in turn. */
async function judgeServer(script: Record<string, string[]>) {
  const used: Record<string, number> = {};
  const s = await startLocalServer((req: RecordedRequest, res) => {
    const body = JSON.parse(req.body) as { tool_choice?: { function: { name: string } }; function_call?: { name: string } };
    const name = body.tool_choice?.function.name ?? body.function_call!.name;
    const i = (used[name] = (used[name] ?? -1) + 1);
    const status = script[name]![i % script[name]!.length]!;
    const field = name === 'check_task_solvable' ? 'task_status' : 'answer_status';
    const args = JSON.stringify({ [field]: status, reason: `because ${i}` });
    const message = body.tool_choice
      ? { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name, arguments: args } }] }
      : { role: 'assistant', content: null, function_call: { name, arguments: args } };
    sendJson(res, 200, { choices: [{ index: 0, message }] });
  });
  closers.push(s.close);
  return s;
}

function judge(url: string, overrides: Partial<LlmJudgeOptions> = {}) {
  return new LlmJudge({
    endpoint: { url: `${url}/v1`, apiKey: KEY, model: 'judge-model', retryDelayMs: 1, attempts: 1 },
    prompts: loadJudgePrompts(promptFile),
    samples: 3,
    solvability: false,
    callStyle: 'tools',
    seed: 0,
    ...overrides,
  });
}

describe('LLM judge against a local OpenAI-compatible server', () => {
  it('fails a run without a Finish answer before asking anything', async () => {
    const s = await judgeServer({});
    const noFinish = { ...answered, steps: [answered.steps[0]!], finalAnswer: '', stop: 'budget' as const };
    expect(await judge(s.url).judge(query, noFinish)).toMatchObject({ label: 'Unsolved', score: 0, reasons: ['No answer'] });
    const gaveUp = { ...answered, finalAnswer: '{"return_type": "give_up_and_restart"}' };
    expect((await judge(s.url).judge(query, gaveUp)).reasons).toEqual(['Empty final answer!']);
    expect(s.requests).toHaveLength(0);
  });

  it('forces the judge function with a reason, and scores the samples SoPR-style', async () => {
    const s = await judgeServer({ check_answer_status: ['Solved', 'Unsolved', 'Unsure'], parse_answer_status: ['Unsure'] });
    const result = await judge(s.url).judge(query, answered);
    expect(result.details.samples).toEqual(['Solved', 'Unsolved', 'Unsure']);
    expect(result.score).toBeCloseTo(0.5);
    expect(s.requests).toHaveLength(4);
    const first = JSON.parse(s.requests[0]!.body);
    expect(s.requests[0]!.url).toBe('/v1/chat/completions');
    expect(s.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(first.model).toBe('judge-model');
    expect(first.messages).toEqual([{ role: 'user', content: `\nQ=How tall is the tower?\nA=${finishInput}\n` }]);
    expect(first.tool_choice).toEqual({ type: 'function', function: { name: 'check_answer_status' } });
    expect(first.tools[0].function.parameters.required).toEqual(['answer_status', 'reason']);
    // The Unsure sample went on to parse_answer_status with the whole answer in ToolEval's format.
    const detail = JSON.parse(s.requests[3]!.body).messages[0].content as string;
    expect(detail).toContain('"answer_details"');
    expect(detail).toContain('"name": "height_for_towers"');
  });

  it("computes ToolBench's solvability vote with the legacy functions call", async () => {
    const s = await judgeServer({ check_answer_status: ['Unsolved'], check_task_solvable: ['Unsolvable'] });
    const result = await judge(s.url, { solvability: true, callStyle: 'functions', samples: 2 }).judge(query, answered);
    expect(result.label).toBe('Unsolved');
    expect(result.details.toolbench_passed).toBe(true);
    expect(JSON.parse(s.requests[0]!.body).function_call).toEqual({ name: 'check_answer_status' });
  });

  it('reports a failing server without the key', async () => {
    const s = await startLocalServer((_req, res) => sendJson(res, 500, 'boom'));
    closers.push(s.close);
    const error = await judge(s.url).judge(query, answered).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('HTTP 500');
    expect((error as Error).message).not.toContain(KEY);
  });
});

describe.skipIf(!toolbenchDir)(`ToolEval's own prompt file ${toolbenchDir ? '' : skipReasonNoToolbench}`, () => {
  it('loads the default evaluator from tooleval_judge_prompts.json', () => {
    const prompts = loadJudgePrompts(join(toolbenchDir!, 'prompts', 'tooleval_judge_prompts.json'));
    expect(Object.keys(prompts.functions).sort()).toEqual(['check_answer_status', 'check_task_solvable', 'parse_answer_status']);
    expect(prompts.functions.check_answer_status!.prompt).toContain('{query}');
    expect(prompts.completionDefaults.model).toBe('gpt-3.5-turbo-16k');
  });
});
