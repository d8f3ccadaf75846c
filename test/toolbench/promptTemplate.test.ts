import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FINISH_FUNCTION, type ToolFunction } from '../../src/toolbench/functions.js';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import {
  KILN_DEMO_PROMPT_TEMPLATE,
  extractPromptTemplate,
  fillPromptTemplate,
  systemPromptFor,
} from '../../src/toolbench/promptTemplate.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const withData = it.skipIf(toolbenchDir === null);
const dataNote = toolbenchDir === null ? ` (${skipReasonNoToolbench})` : '';
const readText = (rel: string): string => readFileSync(join(toolbenchDir!, rel), 'utf8');

describe('fillPromptTemplate / extractPromptTemplate', () => {
  it('replaces literally, in one pass', () => {
    const values = { tool_list: '1.a: {functions} $& $1\n', functions: "[{'x': '{tool_list}'}]" };
    expect(fillPromptTemplate('T:\n{tool_list}F: {functions}', values)).toBe(`T:\n${values.tool_list}F: ${values.functions}`);
  });

  it('extract inverts fill (property)', () => {
    const text = fc.string().filter((s) => !s.includes('{'));
    fc.assert(
      fc.property(text, text, text, fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b, c, tool_list, functions) => {
        const template = `${a}{tool_list}${b}{functions}${c}`;
        const filled = fillPromptTemplate(template, { tool_list, functions });
        const back = extractPromptTemplate(filled, { tool_list, functions });
        expect(fillPromptTemplate(back, { tool_list, functions })).toBe(filled);
      }),
    );
  });

  it('names what it could not find', () => {
    expect(() => extractPromptTemplate('abc', { tool_list: 'a', functions: 'zz' })).toThrow(/\{functions\} text .* does not occur/);
    expect(() => extractPromptTemplate('abc', { tool_list: 'c', functions: 'b' })).toThrow(/\{tool_list\} text "c" does not occur/);
  });

  withData(`recovers ToolLLaMA's template from a real system prompt${dataNote}`, () => {
    const system = readText('prompts/examples/toolllama_system_prompt_G1_answer_11.txt');
    const answer = parseJsonLossless(readText('train-sample/answer/G1_answer/11_ChatGPT_DFS_woFilter_w2.json')) as {
      answer_generation: { function: ToolFunction[] };
    };
    const head = 'You have access of the following tools:\n';
    const tool_list = system.slice(system.indexOf(head) + head.length, system.indexOf('\nSpecifically'));
    const functions = pythonRepr(answer.answer_generation.function);
    const template = extractPromptTemplate(system, { tool_list, functions });
    expect(template).toBe(readText('prompts/toolllama_system_prompt.txt'));
    expect(fillPromptTemplate(template, { tool_list, functions })).toBe(system);
  });

  it('the demo template has both placeholders once and is short', () => {
    expect(KILN_DEMO_PROMPT_TEMPLATE.split('{tool_list}').length).toBe(2);
    expect(KILN_DEMO_PROMPT_TEMPLATE.split('{functions}').length).toBe(2);
    expect(KILN_DEMO_PROMPT_TEMPLATE.length).toBeLessThan(400);
  });

  it('systemPromptFor fills the tool list and either rendering of the functions', () => {
    const api = {
      category_name: 'Tools', tool_name: 'Units', api_name: 'length', api_description: 'Convert distances.',
      required_parameters: [{ name: 'value', type: 'NUMBER', description: 'length', default: '' }],
      optional_parameters: [], method: 'GET',
    };
    const prompt = systemPromptFor(KILN_DEMO_PROMPT_TEMPLATE, { api_list: [api] });
    expect(prompt).toContain("Tools:\n1.units: None\nFunctions: [{'name': 'length_for_units'");
    expect(prompt.endsWith(`${pythonRepr(FINISH_FUNCTION)}]`)).toBe(true);
    const compact = systemPromptFor('F:\n{function_signatures}', { api_list: [api] });
    expect(compact.split('\n')).toEqual([
      'F:',
      'length_for_units(value): Convert distances.',
      'Finish(return_type=give_answer|give_up_and_restart, final_answer?)',
    ]);
  });

  it('refuses a template whose placeholder has no text', () => {
    expect(() => fillPromptTemplate('{function_signatures}', { tool_list: '', functions: '' })).toThrow(/function_signatures/);
  });
});
