import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFunctionList } from '../../src/train/data/functionListText.js';
import { loadConversations } from '../../src/train/data/validate.js';
import { DEMO_CATEGORIES, demoTokenizerCorpus, generateDemoData, stepInstances, writeDemoData } from '../../src/train/demoData.js';
import { HELD_OUT_CATEGORY, HELD_OUT_TOOL } from '../../src/train/demoTools.js';
import { resolveFunctionName, standardize, type ToolQuery } from '../../src/toolbench/functions.js';
import { kilnDemoSystemPrompt } from '../../src/toolbench/promptTemplate.js';
import { renderConversation } from '../../src/toolbench/render.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = generateDemoData({ seed: 11, trainQueries: 300, evalQueries: 62 });
const evalQueries = Object.values(data.evalQueriesByCategory).flat();
const toolsOf = (q: ToolQuery): string[] => [...new Set(q.api_list.map((a) => a.tool_name))];
const categoryOf = new Map(data.tools.map((t) => [t.tool_name, t.category_name]));

describe('generateDemoData', () => {
  it('is deterministic per seed and fast for 2,000 conversations', () => {
    expect(generateDemoData({ seed: 11, trainQueries: 300, evalQueries: 62 })).toEqual(data);
    expect(generateDemoData({ seed: 12, trainQueries: 300, evalQueries: 62 })).not.toEqual(data);
    const t0 = performance.now();
    expect(generateDemoData({ seed: 1, trainQueries: 2000, evalQueries: 120 }).trainTrajectories.length).toBe(2000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('splits eval queries over the six categories by the tools they use, holding out a tool and a category', () => {
    expect(DEMO_CATEGORIES.map((c) => data.evalQueriesByCategory[c].length)).toEqual([11, 11, 10, 10, 10, 10]);
    for (const [category, queries] of Object.entries(data.evalQueriesByCategory)) {
      for (const q of queries) {
        const tools = toolsOf(q);
        const cats = new Set(tools.map((t) => categoryOf.get(t)));
        if (category.startsWith('G1')) expect(tools.length).toBe(1);
        if (category.startsWith('G2')) expect([tools.length, cats.size]).toEqual([2, 1]);
        if (category.startsWith('G3')) expect(cats.size).toBe(2);
        if (category.endsWith('_category')) expect([...cats]).toEqual([HELD_OUT_CATEGORY]);
        else if (category === 'G1_tool') expect(tools).toEqual([HELD_OUT_TOOL]);
        else expect(tools.some((t) => t === HELD_OUT_TOOL || categoryOf.get(t) === HELD_OUT_CATEGORY)).toBe(false);
        for (const [tool, api] of q['relevant APIs']) {
          expect(q.api_list.some((a) => a.tool_name === tool && a.api_name === api)).toBe(true);
        }
      }
    }
    const ids = evalQueries.map((q) => q.query_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('trains only on seen tools, never on an eval query text', () => {
    const heldOut = data.tools.filter((t) => t.tool_name === HELD_OUT_TOOL || t.category_name === HELD_OUT_CATEGORY);
    const evalTexts = new Set(evalQueries.map((q) => q.query));
    for (const conv of data.trainConversations) {
      const user = conv.conversations[1]!.value;
      expect(evalTexts.has(user.slice(1, -'\nBegin!\n'.length))).toBe(false);
      for (const t of heldOut) expect(conv.conversations[0]!.value).not.toContain(`_for_${standardize(t.tool_name)}'`);
    }
  });

  it('writes well-formed trajectories: known functions, JSON inputs and observations, Finish last', () => {
    for (const conv of data.trainTrajectories) {
      const [system, user, ...steps] = conv.conversations;
      expect([system!.from, user!.from]).toEqual(['system', 'user']);
      const names = findFunctionList(system!.value)!.items.map((i) => ({ name: i.name }));
      steps.forEach((turn, i) => {
        expect(turn.from).toBe(i % 2 === 0 ? 'assistant' : 'function');
        if (turn.from === 'function') {
          expect(JSON.parse(turn.value)).toMatchObject({ error: '' });
          return;
        }
        const m = /^\nThought: [^\n]+\nAction: (\S+)\nAction Input: (\{.*\})$/.exec(turn.value);
        expect(m, turn.value).not.toBeNull();
        expect(resolveFunctionName(m![1]!, names as never)).not.toBeNull();
        JSON.parse(m![2]!);
      });
      const last = steps.at(-1)!.value;
      expect(last).toContain('\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "');
    }
  });

  it('trains on one instance per step, each ending with its step and then </s>, as ToolBench releases its data', () => {
    let steps = 0;
    for (const traj of data.trainTrajectories) {
      const assistantTurns = traj.conversations.filter((t) => t.from === 'assistant');
      steps += assistantTurns.length;
      const instances = stepInstances(traj);
      expect(instances.map((c) => c.conversations.at(-1))).toEqual(assistantTurns);
      expect(instances.at(-1)!.conversations).toEqual(traj.conversations);
      for (const inst of instances) {
        expect(traj.conversations.slice(0, inst.conversations.length)).toEqual(inst.conversations);
        const rendered = renderConversation(inst, { lossOn: 'last-assistant' });
        const [start, end] = rendered.lossSpans.at(-1)!;
        expect(rendered.text.slice(start, end)).toBe(`${inst.conversations.at(-1)!.value}</s>`);
      }
    }
    expect(data.trainConversations.length).toBe(steps);
    expect(steps).toBeGreaterThan(data.trainTrajectories.length * 2);
  });

  it('API descriptions do not contain their own API name (ToolBench would rewrite it)', () => {
    for (const api of data.tools.flatMap((t) => t.api_list)) expect(api.api_description).not.toContain(api.api_name);
  });

  it('eval queries have the shape of StableToolBench test records and get the demo prompt', () => {
    const q = data.evalQueriesByCategory.G2_instruction[0]!;
    expect(Object.keys(q)).toEqual(['api_list', 'query', 'relevant APIs', 'query_id']);
    expect(Object.keys(q.api_list[0]!)).toEqual([
      'category_name', 'tool_name', 'api_name', 'api_description', 'required_parameters', 'optional_parameters', 'method', 'template_response',
    ]);
    expect(kilnDemoSystemPrompt(q)).toContain("'name': 'Finish'");
  });

  it.skipIf(toolbenchDir === null)(`uses the same record keys as the shared test files${toolbenchDir === null ? ` (${skipReasonNoToolbench})` : ''}`, () => {
    const real = JSON.parse(readFileSync(join(toolbenchDir!, 'test/G2_instruction.json'), 'utf8')) as ToolQuery[];
    expect(Object.keys(data.evalQueriesByCategory.G1_instruction[0]!)).toEqual(Object.keys(real[0]!));
    const withTemplate = real[0]!.api_list.find((a) => a.template_response !== undefined)!;
    expect(Object.keys(data.tools[0]!.api_list[0]!)).toEqual(Object.keys(withTemplate));
  });

  it('writes the files the pipeline and the eval read, and a tokenizer corpus without eval text', async () => {
    writeDemoData(dir, data);
    const loaded = await loadConversations([join(dir, 'train.json')], { onBadRecord: 'fail' });
    expect(loaded.conversations.map((c) => c.conversation)).toEqual(data.trainConversations);
    for (const category of DEMO_CATEGORIES) {
      expect(JSON.parse(readFileSync(join(dir, 'queries', `${category}.json`), 'utf8'))).toEqual(data.evalQueriesByCategory[category]);
    }
    const corpus = demoTokenizerCorpus(data);
    expect(corpus.length).toBe(data.trainTrajectories.length + data.tools.length);
    const all = corpus.join('\n');
    expect(all).not.toContain('</s>');
    for (const q of evalQueries) expect(all).not.toContain(`User: \n${q.query}\nBegin!\n`);
  });
});
