import { describe, expect, it } from 'vitest';
import { recoverPromptTemplate } from '../../src/reproduce/recoverTemplate.js';
import { queryFunctions, toolListLines, type ApiEntry } from '../../src/toolbench/functions.js';
import { fillPromptTemplate } from '../../src/toolbench/promptTemplate.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';

const api = (tool: string): ApiEntry => ({
  category_name: 'c',
  tool_name: tool,
  api_name: 'get',
  api_description: '1.not a tool line: this description holds one',
  required_parameters: [],
  optional_parameters: [],
  method: 'GET',
});
const query = { api_list: [api('Alpha'), api('Beta 2'), api('Alpha')] };
// Numbered rules before the tool list, as in ToolBench's own prompt.
const TEMPLATE = 'Remember:\n1.the state change is irreversible.\n2.Be short.\nTools:\n{tool_list}\nAPIs: {functions}\nEnd.';

describe('recoverPromptTemplate', () => {
  it('puts {tool_list} and {functions} back into a rendered system prompt', () => {
    const system = fillPromptTemplate(TEMPLATE, { tool_list: toolListLines(query, { alpha: 'Alpha tool: weather' }), functions: pythonRepr(queryFunctions(query)) });
    expect(system).toContain('1.alpha: Alpha tool: weather\n2.beta_2: None\n');
    expect(recoverPromptTemplate(system)).toBe(TEMPLATE);
  });

  it('returns null without a function list or a tool list', () => {
    expect(recoverPromptTemplate('Tools:\n1.alpha: None\n\nno functions')).toBeNull();
    expect(recoverPromptTemplate(`No tools. APIs: ${pythonRepr(queryFunctions(query))}`)).toBeNull();
    expect(recoverPromptTemplate(`Tools:\n2.alpha: None\n\nAPIs: ${pythonRepr(queryFunctions(query))}`)).toBeNull();
  });
});
