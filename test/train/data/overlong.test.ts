import { describe, expect, it } from 'vitest';
import { findFunctionList, keepFunctions } from '../../../src/train/data/functionListText.js';
import { countOutcome, emptyOverlongCounts, fitExample, type FitOptions } from '../../../src/train/data/overlong.js';
import { IGNORE_INDEX, type TokenizedExample } from '../../../src/train/data/tokenizeExample.js';
import { FINISH_FUNCTION, queryFunctions, toolListLines, type ApiEntry } from '../../../src/toolbench/functions.js';
import { KILN_DEMO_PROMPT_TEMPLATE, fillPromptTemplate } from '../../../src/toolbench/promptTemplate.js';
import { pythonRepr } from '../../../src/toolbench/pythonRepr.js';
import type { ToolLlamaConversation } from '../../../src/toolbench/render.js';
import { WordTokenizer } from './wordTokenizer.js';

const api = (name: string): ApiEntry => ({
  category_name: 'Data',
  tool_name: 'Demo Tool',
  api_name: name,
  api_description: `Returns the ${name} with a rather long description of what it does and why it's useful.`,
  required_parameters: [{ name: 'q', type: 'STRING', description: "the 'query' [text]", default: 'x' }],
  optional_parameters: [],
  method: 'GET',
});

function conversation(observationWords: number): ToolLlamaConversation {
  const query = { api_list: ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map(api) };
  const system = fillPromptTemplate(KILN_DEMO_PROMPT_TEMPLATE, {
    tool_list: toolListLines(query),
    functions: pythonRepr(queryFunctions(query)),
  });
  const obs = JSON.stringify({ error: '', response: Array.from({ length: observationWords }, (_, i) => `w${i}`).join(' ') });
  return {
    id: 'c',
    conversations: [
      { from: 'system', value: system },
      { from: 'user', value: '\nfind alpha\nBegin!\n' },
      { from: 'assistant', value: '\nThought: look\nAction: alpha_for_demo_tool\nAction Input: {"q": "a"}' },
      { from: 'function', value: obs },
      { from: 'assistant', value: '\nThought: again\nAction: gamma_for_demo_tool\nAction Input: {"q": "b"}' },
      { from: 'function', value: obs },
      { from: 'assistant', value: '\nThought: \nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "w1"}' },
    ],
  };
}

const targetsText = (tok: WordTokenizer, ex: TokenizedExample): string =>
  tok.decode(Array.from(ex.inputIds).filter((_, i) => ex.labels[i] !== IGNORE_INDEX && ex.inputIds[i] !== 2));

describe('function list in the system prompt', () => {
  it('is found and edited as Python prints it', () => {
    const fns = queryFunctions({ api_list: [api('a'), api('b')] });
    const system = `intro [{'x': 1}] then {functions}`.replace('{functions}', pythonRepr(fns)) + ' tail';
    const list = findFunctionList(system)!;
    expect(list.items.map((i) => i.name)).toEqual(['a_for_demo_tool', 'b_for_demo_tool', 'Finish']);
    expect(keepFunctions(system, list, [list.items[1]!, list.items[2]!])).toBe(
      `intro [{'x': 1}] then ${pythonRepr([fns[1], FINISH_FUNCTION])} tail`,
    );
    expect(findFunctionList('no list here')).toBeNull();
  });
});

describe('fitExample', () => {
  const base = (tok: WordTokenizer, maxTokens: number): FitOptions => ({ maxTokens, policy: 'truncate', lossOn: 'assistant', tokenizer: tok, minObservationTokens: 8 });

  it('keeps an example that fits', () => {
    const tok = new WordTokenizer();
    const out = fitExample(conversation(10), base(tok, 10_000));
    expect(out.action).toBe('kept');
  });

  it('cuts observations first, keeping every target token', () => {
    const tok = new WordTokenizer();
    const conv = conversation(400);
    const full = fitExample(conv, base(tok, 100_000));
    if (full.action !== 'kept') throw new Error('expected kept');
    const max = full.example.inputIds.length - 300;
    const out = fitExample(conv, base(tok, max));
    if (out.action !== 'truncated') throw new Error(`expected truncated, got ${out.action}`);
    expect(out.example.inputIds.length).toBeLessThanOrEqual(max);
    expect(out.example.inputIds.length).toBeGreaterThan(max - 20); // the cut is not wasteful
    expect(out.observationsCut).toBe(2);
    expect(out.functionsRemoved).toBe(0);
    expect(targetsText(tok, out.example)).toBe(targetsText(tok, full.example));
    expect(tok.decode(out.example.inputIds)).toContain('...');
  });

  it('then removes uncalled functions, last first, keeping called ones and Finish', () => {
    const tok = new WordTokenizer();
    const conv = conversation(400);
    const full = fitExample(conv, base(tok, 100_000));
    if (full.action !== 'kept') throw new Error('expected kept');
    const obsTokens = 2 * 800; // words and spaces of both observations, roughly
    const max = full.example.inputIds.length - obsTokens - 40;
    const out = fitExample(conv, base(tok, max));
    if (out.action !== 'truncated') throw new Error(`expected truncated, got ${out.action}`);
    expect(out.example.inputIds.length).toBeLessThanOrEqual(max);
    expect(out.functionsRemoved).toBeGreaterThan(0);
    const text = tok.decode(out.example.inputIds);
    expect(text).toContain("'name': 'alpha_for_demo_tool'");
    expect(text).toContain("'name': 'gamma_for_demo_tool'");
    expect(text).toContain("'name': 'Finish'");
    expect(text).not.toContain("'name': 'epsilon_for_demo_tool'");
    expect(targetsText(tok, out.example)).toBe(targetsText(tok, full.example));
  });

  it('drops what cannot fit, and everything over-long under the drop policy; counts each action', () => {
    const tok = new WordTokenizer();
    const counts = emptyOverlongCounts();
    countOutcome(counts, fitExample(conversation(400), base(tok, 120)));
    countOutcome(counts, fitExample(conversation(400), { ...base(tok, 1000), policy: 'drop' }));
    countOutcome(counts, fitExample(conversation(400), base(tok, 1000)));
    countOutcome(counts, fitExample(conversation(1), base(tok, 100_000)));
    expect(counts).toMatchObject({ kept: 1, truncated: 1, dropped: 2, withObservationsCut: 1 });
    expect(counts.tokensDropped).toBeGreaterThan(2000);
  });
});
