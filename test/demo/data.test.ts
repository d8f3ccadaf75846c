import { describe, expect, it } from 'vitest';
import { runChain } from '../../src/eval/agent/agentLoop.js';
import { OfflineSimulator } from '../../src/eval/envs/offline.js';
import { judgeByRules } from '../../src/eval/judges/rules.js';
import type { Policy, PolicyRequest } from '../../src/eval/policies/policy.js';
import { PolicyBatcher } from '../../src/eval/policies/policyBatcher.js';
import { parseToolInput } from '../../src/eval/envs/environment.js';
import { apiToFunction, type ToolQuery } from '../../src/toolbench/functions.js';
import { chatPromptEncoder } from '../../src/eval/agent/chatPrompt.js';
import { optSpecialTokens, trainByteLevelBpe } from '../../src/model/tokenizer/bpeTrainer.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { renderConversation, renderInferencePrompt } from '../../src/toolbench/render.js';
import { encodeChat } from '../../src/model/tokenizer/chatTemplate.js';
import { conversationMessages } from '../../src/train/data/chatTemplateExamples.js';
import { CATEGORY_TOPICS, HELD_OUT_CATEGORIES } from '../../scripts/demo/catalogue.js';
import { madeExpectedCalls, namesAskedTopics } from '../../scripts/demo/expectedCalls.js';
import type { QueryResult } from '../../src/eval/report/results.js';
import { DEMO_CHAT_TOKENIZER_CONFIG, DEMO_GROUPS, DEMO_PROMPT_TEMPLATE, generateDemoData, tokenizerCorpus, type DemoData } from '../../scripts/demo/data.js';

const options = { seed: 7, trainQueries: 150, evalQueriesPerGroup: 8, toolsPerCategory: 4, heldOutToolsPerCategory: 1, retryShare: 0, argumentErrorShare: 0, renamedTopicShare: 0, glossaryPerCategory: 2 };
const data: DemoData = await generateDemoData(options);
const evalQueries = DEMO_GROUPS.flatMap((g) => data.evalQueries[g].map((q) => ({ group: g, q })));
const categoryOf = new Map(data.tools.map((t) => [t.name, t.category]));
const heldOut = new Set(data.tools.filter((t) => t.heldOut).map((t) => t.name));
const toolsOf = (q: ToolQuery) => [...new Set(q['relevant APIs'].map(([tool]) => tool))];

/** Answers each model call with the next assistant turn of a training conversation, keeping each prompt as the model would see it. */
class TranscriptPolicy<P> implements Policy {
  readonly description = 'transcript';
  readonly maxBatch = 1;
  readonly prompts: P[] = [];
  constructor(
    private readonly turns: string[],
    private readonly prompt: (r: PolicyRequest) => P,
  ) {}
  async complete(requests: PolicyRequest[]) {
    return requests.map((r) => {
      this.prompts.push(this.prompt(r));
      return { ok: true as const, text: this.turns[r.callIndex]! };
    });
  }
}

/** Runs training conversation `i` through the agent loop, the policy replaying its assistant turns. */
async function replay<P>(i: number, prompt: (r: PolicyRequest) => P, from: DemoData = data) {
  const conv = from.train[i]!;
  const query = from.trainQueries[i]!;
  const turns = conv.conversations.filter((t) => t.from === 'assistant').map((t) => t.value);
  const policy = new TranscriptPolicy(turns, prompt);
  const settings = { template: DEMO_PROMPT_TEMPLATE, env: new OfflineSimulator(), batcher: new PolicyBatcher(policy), nameMatch: 'suffix' as const, maxSteps: 6 };
  const trajectory = await runChain({ query, category: 'G1_instruction' }, settings);
  return { conv, query, turns, prompts: policy.prompts, trajectory };
}

describe('the demo data set', () => {
  it('is the same for the same seed and differs for another', async () => {
    expect(await generateDemoData(options)).toEqual(data);
    expect((await generateDemoData({ ...options, seed: 8 })).train).not.toEqual(data.train);
  });

  it('builds each group as docs/demo.md says', () => {
    for (const g of DEMO_GROUPS) expect(data.evalQueries[g].length).toBe(options.evalQueriesPerGroup);
    for (const { group, q } of evalQueries) {
      const tools = toolsOf(q);
      const categories = new Set(tools.map((t) => categoryOf.get(t)));
      // Choosing among at least three functions, and at least two arguments to fill from the query.
      expect(q.api_list.length).toBeGreaterThanOrEqual(3);
      const args = q.api_list.filter((a) => q['relevant APIs'].some(([t, n]) => t === a.tool_name && n === a.api_name));
      expect(args.reduce((n, a) => n + a.required_parameters.length, 0)).toBeGreaterThanOrEqual(2);
      if (group.startsWith('G1')) expect(tools.length).toBe(1);
      if (group.startsWith('G2')) expect([tools.length, categories.size]).toEqual([2, 1]);
      if (group.startsWith('G3')) expect([tools.length, categories.size]).toEqual([2, 2]);
      const unseenCategory = [...categories].every((c) => HELD_OUT_CATEGORIES.includes(c!));
      if (group.endsWith('_category')) expect(unseenCategory).toBe(true);
      if (group === 'G1_tool') expect([heldOut.has(tools[0]!), unseenCategory]).toEqual([true, false]);
      if (group.endsWith('_instruction')) expect(tools.some((t) => heldOut.has(t))).toBe(false);
    }
    expect(Object.keys(CATEGORY_TOPICS)).toEqual(expect.arrayContaining([...HELD_OUT_CATEGORIES]));
  });

  it('never trains on an eval query text or a held-out tool', () => {
    const evalTexts = new Set(evalQueries.map(({ q }) => q.query));
    expect(data.trainQueries.filter((q) => evalTexts.has(q.query) || q.api_list.some((a) => heldOut.has(a.tool_name)))).toEqual([]);
    const heldOutFunctions = data.tools.filter((t) => t.heldOut).flatMap((t) => t.apis.map((a) => apiToFunction(a.entry).name));
    const leaks = data.train.filter((conv) => heldOutFunctions.some((name) => conv.conversations[0]!.value.includes(`${name}(`)));
    expect(heldOutFunctions.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });

  it("lists every category's topics in its glossary, held-out categories too, naming no tool, function or query", async () => {
    const categories = Object.keys(CATEGORY_TOPICS);
    expect(data.glossary).toHaveLength(categories.length * options.glossaryPerCategory);
    const toolWords = data.tools.flatMap((t) => [t.name.toLowerCase(), ...t.apis.map((a) => apiToFunction(a.entry).name)]);
    const queryTexts = [...evalQueries.map(({ q }) => q.query), ...data.trainQueries.map((q) => q.query)];
    for (const conv of data.glossary) {
      const [user, assistant] = conv.conversations;
      expect([user!.from, assistant!.from, conv.conversations.length]).toEqual(['user', 'assistant', 2]);
      const category = /What does (\w+) cover\?/.exec(user!.value)![1]!;
      const listed = /covers (.*)\.$/.exec(assistant!.value)![1]!.split(/, | and /);
      expect([...listed].sort()).toEqual([...CATEGORY_TOPICS[category]!].sort());
      const text = (user!.value + assistant!.value).toLowerCase();
      expect(toolWords.filter((w) => text.includes(w))).toEqual([]);
      expect(queryTexts.filter((q) => text.includes(q.toLowerCase()))).toEqual([]);
    }
    expect(new Set(data.glossary.map((c) => /What does (\w+)/.exec(c.conversations[0]!.value)![1]))).toEqual(new Set(categories));
    // The glossary is drawn after the trajectories: its size leaves them as they were.
    const without = await generateDemoData({ ...options, glossaryPerCategory: 0 });
    expect(without.glossary).toEqual([]);
    expect(without.train).toEqual(data.train);
    expect(tokenizerCorpus(data)).toHaveLength(data.train.length + data.glossary.length);
  });

  it('fills every argument from the query, in its order, and cites the observations in the answer', () => {
    data.train.forEach((conv, i) => {
      const query = data.trainQueries[i]!;
      const calls = conv.conversations.filter((t) => t.from === 'assistant').slice(0, -1);
      expect(calls.length).toBe(query['relevant APIs'].length);
      let from = 0;
      for (const call of calls) {
        const args = parseToolInput(call.value.split('Action Input: ')[1]!)!;
        for (const value of Object.values(args)) {
          const at = query.query.indexOf(String(value), from);
          expect(at).toBeGreaterThanOrEqual(from);
          from = at;
        }
      }
      const answer = conv.conversations.at(-1)!.value;
      const stated = query.query.match(/\d+/g) ?? [];
      for (const obs of conv.conversations.filter((t) => t.from === 'function')) {
        const number = /'\w+': (\d+)/.exec(obs.value)![1]!;
        // Two digits: two tokens to copy (docs/demo.md).
        expect(number).toMatch(/^\d\d$/);
        expect(answer).toContain(number);
        // A number the query states would not count as evidence (echo exclusion), so none is cited.
        expect(stated).not.toContain(number);
      }
    });
  });

  it('replays through the evaluation: the same prompts as the training text, and Solved by the rule judge', async () => {
    for (let i = 0; i < 30; i++) {
      const { conv, query, turns, prompts, trajectory } = await replay(i, (r) => renderInferencePrompt(r.messages, 'training'));
      const text = renderConversation(conv, { lossOn: 'assistant' }).text;
      // Each prompt the agent builds is exactly the training text up to that assistant turn.
      for (const prompt of prompts) expect(text.startsWith(prompt)).toBe(true);
      expect(prompts.length).toBe(turns.length);
      expect(judgeByRules(query, trajectory).label).toBe('Solved');
    }
  });

  it('gives a demo Llama, through its chat template, prompts whose tokens begin its training tokens', async () => {
    const bpe = trainByteLevelBpe(tokenizerCorpus(data), { vocabSize: 600, specialTokens: optSpecialTokens });
    const tokenizer = Tokenizer.fromVocabAndMerges(bpe.vocabJson, bpe.mergesTxt, DEMO_CHAT_TOKENIZER_CONFIG);
    const encoder = chatPromptEncoder(tokenizer);
    for (let i = 0; i < 10; i++) {
      const { conv, turns, prompts } = await replay(i, (r) => encoder.encodePrompt(r.messages));
      const training = encodeChat(tokenizer, conversationMessages(conv));
      expect(prompts.length).toBe(turns.length);
      for (const prompt of prompts) {
        expect(training.ids.slice(0, prompt.length)).toEqual(prompt);
        // The model's turn starts right after the prompt: the next token is its first target.
        expect(training.assistant[prompt.length]).toBe(true);
        expect(training.assistant[prompt.length - 1]).toBe(false);
      }
    }
  });

});

describe('the demo data set with error-and-retry trajectories', () => {
  const withRetries = generateDemoData({ ...options, retryShare: 0.5, argumentErrorShare: 0.5 });

  it('begins some trajectories with a call of weight 0 to a function the query does not offer, or with an argument under a wrong key', async () => {
    const retry = await withRetries;
    const failed = retry.train.map((conv, i) => ({ conv, query: retry.trainQueries[i]!, weighted: conv.conversations.filter((t) => t.weight === 0) }));
    const share = failed.filter((f) => f.weighted.length > 0).length / failed.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    const kinds = new Set<string>();
    for (const { conv, query, weighted } of failed) {
      if (weighted.length === 0) continue;
      expect(weighted.length).toBe(1);
      // The first assistant turn, and its function is not one the query offers.
      expect(conv.conversations.find((t) => t.from === 'assistant')).toBe(weighted[0]);
      const name = /Action: (\S+)/.exec(weighted[0]!.value)![1]!;
      const offered = query.api_list.find((a) => apiToFunction(a).name === name);
      if (offered === undefined) {
        kinds.add('name');
        continue;
      }
      // The offered function, with a key it does not take, and the simulator's error in reply.
      kinds.add('key');
      const keys = Object.keys(parseToolInput(weighted[0]!.value.split('Action Input: ')[1]!)!);
      expect(keys.some((k) => !offered.required_parameters.some((p) => p.name === k))).toBe(true);
      const reply = conv.conversations[conv.conversations.indexOf(weighted[0]!) + 1]!;
      expect(reply.value).toContain('Function executing');
    }
    expect([...kinds].sort()).toEqual(['key', 'name']);
  });

  it('replays through the evaluation: its error reply is the one the agent gives, and the trajectory is Solved', async () => {
    const retry = await withRetries;
    const indices = retry.train.flatMap((conv, i) => (conv.conversations.some((t) => t.weight === 0) ? [i] : [])).slice(0, 20);
    expect(indices.length).toBe(20);
    for (const i of indices) {
      const { conv, query, turns, prompts, trajectory } = await replay(i, (r) => renderInferencePrompt(r.messages, 'training'), retry);
      const text = renderConversation(conv, { lossOn: 'assistant' }).text;
      for (const prompt of prompts) expect(text.startsWith(prompt)).toBe(true);
      expect(prompts.length).toBe(turns.length);
      expect(judgeByRules(query, trajectory).label).toBe('Solved');
    }
  });
});

describe('training queries with renamed topics', () => {
  const renamed = generateDemoData({ ...options, renamedTopicShare: 0.5 });
  const catalogueTopics = new Set(Object.values(CATEGORY_TOPICS).flat());

  it('rename every topic of a query, consistently, to an invented word no category has', async () => {
    const r = await renamed;
    let count = 0;
    r.train.forEach((conv, i) => {
      const query = r.trainQueries[i]!;
      const topics = query.api_list.map((a) => a.api_name);
      if (topics.every((t) => catalogueTopics.has(t))) return;
      count++;
      expect(topics.some((t) => catalogueTopics.has(t))).toBe(false);
      const text = conv.conversations.map((t) => t.value).join('\n');
      for (const [tool, topic] of query['relevant APIs']) {
        expect(query.query).toContain(` ${topic} `);
        expect(conv.conversations[0]!.value).toContain(`${topic}_for_${tool.toLowerCase()}(`);
        expect(text).toContain(`Thought: I need the ${topic}.`);
        expect(conv.conversations.at(-1)!.value).toMatch(new RegExp(`${topic} \\d+\\.`));
      }
    });
    expect(count / r.train.length).toBeGreaterThan(0.3);
    expect(count / r.train.length).toBeLessThan(0.7);
  });

  it('replay through the evaluation as Solved', async () => {
    const r = await renamed;
    const indices = r.trainQueries.flatMap((q, i) => (q.api_list.some((a) => !catalogueTopics.has(a.api_name)) ? [i] : [])).slice(0, 10);
    for (const i of indices) {
      const { query, trajectory } = await replay(i, (m) => renderInferencePrompt(m.messages, 'training'), r);
      expect(judgeByRules(query, trajectory).label).toBe('Solved');
    }
  });
});

describe("the demo's argument check", () => {
  it('accepts the calls each held-out query states, and refuses a wrong value, a missing call or an extra key', async () => {
    for (const { q } of evalQueries) {
      const expected = data.expectedCalls[q.query_id]!;
      expect(expected.length).toBe(q['relevant APIs'].length);
      const run = async (calls: typeof expected) => {
        const turns = [
          ...calls.map((c) => `\nThought: t\nAction: ${c.function}\nAction Input: ${JSON.stringify(c.arguments)}`),
          '\nThought: t\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "x"}',
        ];
        const settings = { template: DEMO_PROMPT_TEMPLATE, env: new OfflineSimulator(), batcher: new PolicyBatcher(new TranscriptPolicy(turns, () => 0)), nameMatch: 'suffix' as const, maxSteps: 6 };
        const trajectory = await runChain({ query: q, category: 'G1_instruction' }, settings);
        return madeExpectedCalls({ trajectory } as QueryResult, expected);
      };
      expect(await run(expected)).toBe(true);
      const [first, ...rest] = expected;
      const key = Object.keys(first!.arguments)[0]!;
      expect(await run([{ ...first!, arguments: { ...first!.arguments, [key]: `${first!.arguments[key]}0` } }, ...rest])).toBe(false);
      expect(await run([{ ...first!, arguments: { ...first!.arguments, extra: 1 } }, ...rest])).toBe(false);
      if (rest.length > 0) expect(await run([first!])).toBe(false);
    }
  });
});

describe("the demo's topic check", () => {
  const answered = (finalAnswer: string) => ({ trajectory: { finalAnswer } }) as unknown as QueryResult;
  const finish = (answer: string) => JSON.stringify({ return_type: 'give_answer', final_answer: answer });

  it("names each query's topics, the words of its text that the offered API names carry", () => {
    for (const { q } of evalQueries) {
      const expected = data.expectedCalls[q.query_id]!;
      for (const call of expected) {
        expect(q.query).toMatch(new RegExp(`\\b${call.topic}\\b`));
        expect(call.function.startsWith(`${call.topic}_for_`)).toBe(true);
      }
    }
  });

  it('accepts an answer naming every asked topic and refuses one naming another topic, part of them, or none', () => {
    for (const { q } of evalQueries) {
      const expected = data.expectedCalls[q.query_id]!;
      const topics = expected.map((c) => c.topic);
      const other = [...new Set(Object.values(data.expectedCalls).flat().map((c) => c.topic))].find((t) => !topics.includes(t))!;
      expect(namesAskedTopics(answered(finish(topics.map((t, i) => `${t} ${10 + i}.`).join(' '))), expected)).toBe(true);
      expect(namesAskedTopics(answered(finish(topics.map((t, i) => `The ${t.toUpperCase()}: ${10 + i}`).join('; '))), expected)).toBe(true);
      expect(namesAskedTopics(answered(finish(topics.map((_, i) => `${other} ${10 + i}.`).join(' '))), expected)).toBe(false);
      expect(namesAskedTopics(answered(finish(topics.map((t, i) => `${t}x ${10 + i}.`).join(' '))), expected)).toBe(false);
      if (topics.length > 1) expect(namesAskedTopics(answered(finish(`${topics[0]} 10.`)), expected)).toBe(false);
      expect(namesAskedTopics(answered(''), expected)).toBe(false);
      expect(namesAskedTopics(answered(finish('')), expected)).toBe(false);
    }
  });
});
