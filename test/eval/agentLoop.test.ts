import { describe, expect, it } from 'vitest';
import { runChain, type AgentSettings } from '../../src/eval/agent/agentLoop.js';
import { KILN_DIVERSITY_PROMPT, runDfsdt, type DfsdtSettings } from '../../src/eval/agent/dfsdt.js';
import { OfflineSimulator } from '../../src/eval/envs/offline.js';
import { readFinishArguments } from '../../src/eval/calls/actionInput.js';
import type { Policy, PolicyCompletion, PolicyRequest } from '../../src/eval/policies/policy.js';
import { PolicyBatcher } from '../../src/eval/policies/policyBatcher.js';
import type { ApiEntry, ToolQuery } from '../../src/toolbench/functions.js';
import { KILN_DEMO_PROMPT_TEMPLATE } from '../../src/toolbench/promptTemplate.js';

const api: ApiEntry = {
  category_name: 'Sports',
  tool_name: 'Tower Facts',
  api_name: 'Height',
  api_description: 'Height of a tower',
  required_parameters: [{ name: 'tower', type: 'STRING', description: '', default: 'eiffel' }],
  optional_parameters: [],
  method: 'GET',
  template_response: { height_m: 'int', name: 'str' },
};
const query: ToolQuery = { query: 'How tall is it?', query_id: 3, api_list: [api], 'relevant APIs': [['Tower Facts', 'Height']] };
const task = { query, category: 'G1_instruction' };

/** A policy answering each call from a list of texts (by call index), or a function of the request. */
class ListPolicy implements Policy {
  readonly description = 'list';
  readonly maxBatch = 8;
  readonly seen: PolicyRequest[] = [];
  constructor(private readonly answer: (r: PolicyRequest) => PolicyCompletion) {}
  async complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    this.seen.push(...requests);
    return requests.map(this.answer);
  }
}

const say = (text: string): PolicyCompletion => ({ ok: true, text });
const callHeight = say('Thought: look it up\nAction: height_for_tower_facts\nAction Input: {"tower": "eiffel"}');
const finish = say('Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "330 m"}');
const giveUp = say('Thought: no\nAction: Finish\nAction Input: {"return_type": "give_up_and_restart"}');

function settings(policy: Policy): AgentSettings {
  return { template: KILN_DEMO_PROMPT_TEMPLATE, env: new OfflineSimulator(), batcher: new PolicyBatcher(policy), nameMatch: 'suffix', maxSteps: 4 };
}

describe('CoT loop', () => {
  it('calls the tool, feeds the observation back and stops at Finish', async () => {
    const policy = new ListPolicy((r) => (r.callIndex === 0 ? callHeight : finish));
    const t = await runChain(task, settings(policy));
    expect(t.stop).toBe('finish');
    expect(t.steps.map((s) => s.code)).toEqual([0, 3]);
    expect(t.finalAnswer).toBe('{"return_type": "give_answer", "final_answer": "330 m"}');
    const second = policy.seen[1]!.messages;
    expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'function']);
    expect(second[1]!.content).toBe('\nHow tall is it?\nBegin!\n');
    expect(second[2]!.content).toBe('\nThought: look it up\nAction: height_for_tower_facts\nAction Input: {"tower": "eiffel"}');
    expect(second[3]!.content).toMatch(/^\{"error": "", "response": "\{'height_m': \d+/);
  });

  it('turns unknown names, bad JSON and garbage into observations, and stops at the step budget', async () => {
    const outputs = [
      say('Thought: x\nAction: no_such_fn\nAction Input: {}'),
      say('Thought: x\nAction: height_for_tower_facts\nAction Input: {tower: eiffel}'),
      say('%%% garbage %%%'),
      say('Thought: x\nAction: Finish\nAction Input: {}'),
    ];
    const t = await runChain(task, settings(new ListPolicy((r) => outputs[r.callIndex]!)));
    expect(t.stop).toBe('budget');
    expect(t.steps).toHaveLength(4);
    expect(t.steps[0]!.observation).toBe('{"error": "No such function name: no_such_fn", "response": ""}');
    expect(t.steps[0]!.code).toBe(1);
    expect(t.steps[1]!.reply.error).toBe('Tool input parse error...\n');
    expect(t.steps[1]!.argsJson).toBe(false);
    expect(t.steps[2]!.parsed).toBe(false);
    expect(t.steps[3]!.observation).toBe('{error:"must have "return_type""}');
    expect(t.steps[3]!.code).toBe(2);
  });

  it('ends on a give-up and on a context overflow', async () => {
    expect((await runChain(task, settings(new ListPolicy(() => giveUp)))).stop).toBe('give_up');
    const overflow = await runChain(task, settings(new ListPolicy(() => ({ ok: false, kind: 'context_overflow', message: 'too long' }))));
    expect(overflow).toMatchObject({ stop: 'context_overflow', contextOverflows: 1, llmCalls: 1, steps: [] });
  });
});

describe('Finish arguments', () => {
  it('read JSON with raw newlines, and sniff broken JSON as ToolBench does', () => {
    expect(readFinishArguments('{"return_type": "give_answer", "final_answer": "a\nb"}')).toEqual({ returnType: 'give_answer', finalAnswer: 'a\nb' });
    expect(readFinishArguments('{"return_type": "give_answer", "final_answer": "cut')).toEqual({ returnType: 'give_answer', finalAnswer: 'cut' });
    expect(readFinishArguments('{"return_type": "maybe", "x": 1')).toEqual({ returnType: 'maybe' });
  });
});

describe('DFSDT', () => {
  function dfsdt(policy: Policy, maxLlmCalls = 200): DfsdtSettings {
    return { ...settings(policy), beam: 2, maxLlmCalls, diversityTemplate: KILN_DIVERSITY_PROMPT };
  }

  it('backs up two levels on a give-up and shows earlier children in the diversity prompt', async () => {
    // Root child 1 calls the API; its child gives up, so the search returns to the root and
    // generates root child 2 (with the diversity prompt), which finishes.
    const policy = new ListPolicy((r) => [callHeight, giveUp, finish][r.callIndex]!);
    const t = await runDfsdt(task, dfsdt(policy));
    expect(t.stop).toBe('finish');
    expect(t.llmCalls).toBe(3);
    expect(t.steps.map((s) => s.action)).toEqual(['Finish']);
    const diversity = policy.seen[2]!.messages.at(-1)!;
    expect(diversity.role).toBe('user');
    expect(diversity.content).toContain('"name": "height_for_tower_facts"');
    expect(policy.seen[2]!.messages).toHaveLength(3);
  });

  it('explores the whole depth-limited tree and respects the model-call cap', async () => {
    const always = new ListPolicy(() => callHeight);
    const full = await runDfsdt(task, dfsdt(always));
    // Two children per node down to depth 4: 2 + 4 + 8 + 16 calls.
    expect(full).toMatchObject({ stop: 'budget', llmCalls: 30 });
    expect(full.steps).toHaveLength(4);
    const capped = await runDfsdt(task, dfsdt(new ListPolicy(() => callHeight), 7));
    expect(capped.llmCalls).toBe(7);
  });
});

describe('PolicyBatcher', () => {
  it('sends one batch when every running query waits on the model', async () => {
    const sizes: number[] = [];
    const policy: Policy = {
      description: 'count',
      maxBatch: 8,
      complete: async (rs) => {
        sizes.push(rs.length);
        return rs.map(() => finish);
      },
    };
    const batcher = new PolicyBatcher(policy);
    const s = { ...settings(policy), batcher };
    const tasks = [1, 2, 3, 4, 5].map((id) => ({ query: { ...query, query_id: id }, category: 'c' }));
    await Promise.all(
      tasks.map(async (t) => {
        batcher.enter();
        try {
          return await runChain(t, s);
        } finally {
          batcher.leave();
        }
      }),
    );
    expect(sizes).toEqual([5]);
  });
});
