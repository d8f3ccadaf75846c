import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ApiEntry,
  FINISH_FUNCTION,
  type ToolFunction,
  type ToolQuery,
  apiToFunction,
  changeName,
  queryFunctions,
  resolveFunctionName,
  standardize,
  toolListLines,
} from '../../src/toolbench/functions.js';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const withData = it.skipIf(toolbenchDir === null);
const dataNote = toolbenchDir === null ? ` (${skipReasonNoToolbench})` : '';
const readData = (rel: string): unknown => parseJsonLossless(readFileSync(join(toolbenchDir!, rel), 'utf8'));

function api(overrides: Partial<ApiEntry>): ApiEntry {
  return {
    category_name: 'Data',
    tool_name: 'Tool',
    api_name: 'get thing',
    api_description: '',
    required_parameters: [],
    optional_parameters: [],
    method: 'GET',
    ...overrides,
  };
}

describe('standardize / changeName', () => {
  withData(`match standardize_examples.json${dataNote}`, () => {
    const cases = readData('prompts/examples/standardize_examples.json') as Record<string, string>[];
    expect(cases.length).toBe(156);
    for (const c of cases) {
      expect(standardize(c.input!)).toBe(c.standardize);
      expect(changeName(standardize(c.input!))).toBe(c['change_name(standardize)']);
    }
  });

  it('handles the named edge cases', () => {
    expect(standardize('__Hello  World!!__')).toBe('hello_world');
    expect(standardize('3D^model')).toBe('get_3d^model');
    expect(standardize('café 中文 😀x')).toBe('caf_中文_x');
    expect(standardize('!!!')).toBe('');
    expect(changeName('id')).toBe('is_id');
    expect(changeName('ids')).toBe('ids');
  });
});

describe('apiToFunction', () => {
  withData(`matches every case of function_conversion_examples.json${dataNote}`, () => {
    const cases = readData('prompts/examples/function_conversion_examples.json') as {
      case: string;
      api_list_entry: ApiEntry;
      standard_tool_name: string;
      function: ToolFunction;
      function_python_repr: string;
    }[];
    expect(cases.length).toBe(11);
    for (const c of cases) {
      const fn = apiToFunction(c.api_list_entry);
      expect(fn, c.case).toEqual(c.function);
      expect(pythonRepr(fn), c.case).toBe(c.function_python_repr);
      expect(standardize(c.api_list_entry.tool_name)).toBe(c.standard_tool_name);
    }
  });

  it('replaces the api name with `$` patterns literally and keeps a repeated key in first place', () => {
    const fn = apiToFunction(
      api({
        api_name: 'a$&b',
        api_description: '  uses a$&b twice: a$&b ',
        required_parameters: [
          { name: 'X', type: 'NUMBER', description: 'first', default: 0 },
          { name: 'y', type: 'DATE (YYYY-MM-DD)', description: 'd', default: '' },
          { name: 'x', type: 'BOOLEAN', description: 'second', default: false },
        ],
        optional_parameters: [{ name: 'from', type: 'string', description: '', default: [] }],
      }),
    );
    expect(fn.description).toBe(
      'This is the subfunction for tool "tool", you can use this tool.The description of this function is: "uses a_b_for_tool twice: a_b_for_tool"',
    );
    expect(Object.keys(fn.parameters.properties)).toEqual(['x', 'y', 'is_from']);
    expect(fn.parameters.properties.x).toEqual({ type: 'boolean', description: 'second', example_value: false });
    expect(fn.parameters.properties.y).toEqual({ type: 'string', description: 'd' });
    expect(fn.parameters.required).toEqual(['x', 'y', 'x']);
    expect(fn.parameters.optional).toEqual(['is_from']);
  });

  it('drops optional parameters when none is required', () => {
    const fn = apiToFunction(api({ optional_parameters: [{ name: 'q', type: 'STRING', description: '', default: 'a' }] }));
    expect(fn.parameters).toEqual({ type: 'object', properties: {}, required: [], optional: [] });
  });
});

describe('queryFunctions', () => {
  withData(`reproduces the function lists of StableToolBench's sample answers${dataNote}`, () => {
    const queries = readData('test/G1_instruction.json') as ToolQuery[];
    for (const [id, file] of [
      [588, '588_CoT@1.json'],
      [608, '608_DFS_woFilter_w2.json'],
      [1073, '1073_CoT@1.json'],
    ] as const) {
      const method = file.includes('CoT') ? 'virtual_chatgpt_cot' : 'virtual_chatgpt_dfs';
      const answer = readData(`eval-sample/stabletoolbench/answer/${method}/G1_instruction/${file}`) as {
        answer_generation: { function: ToolFunction[] };
      };
      const query = queries.find((q) => q.query_id === id)!;
      expect(pythonRepr(queryFunctions(query))).toBe(pythonRepr(answer.answer_generation.function));
    }
  });

  it('ends with Finish and keeps duplicate names', () => {
    const long = 'x'.repeat(80);
    const fns = queryFunctions({ api_list: [api({ api_name: `a ${long}` }), api({ api_name: `b ${long}` })] });
    expect(fns.map((f) => f.name)).toEqual([`${'x'.repeat(55)}_for_tool`, `${'x'.repeat(55)}_for_tool`, 'Finish']);
    expect(fns[2]).toBe(FINISH_FUNCTION);
    expect(Object.isFrozen(FINISH_FUNCTION.parameters.properties)).toBe(true);
  });
});

describe('toolListLines', () => {
  it('lists distinct tools in first-appearance order, None without a description', () => {
    const query = { api_list: [api({ tool_name: 'B tool' }), api({ tool_name: 'A' }), api({ tool_name: 'b-tool' })] };
    expect(toolListLines(query)).toBe('1.b_tool: None\n2.a: None\n');
    const desc = `  line one\nline two ${'z'.repeat(600)}`;
    expect(toolListLines(query, { a: desc, b_tool: ' \n ' })).toBe(
      `1.b_tool: None\n2.a: ${`line oneline two ${'z'.repeat(600)}`.slice(0, 509)}\n`,
    );
  });
});

describe('resolveFunctionName', () => {
  const fns = queryFunctions({ api_list: [api({ api_name: 'search' }), api({ api_name: 'deep search' }), api({ api_name: 'search' })] });

  it('matches exactly by default, first of duplicates, Finish first', () => {
    expect(resolveFunctionName('search_for_tool', fns)?.index).toBe(0);
    expect(resolveFunctionName('Finish', fns)?.function).toBe(FINISH_FUNCTION);
    expect(resolveFunctionName('search', fns)).toBeNull();
    expect(resolveFunctionName('', fns)).toBeNull();
  });

  it('suffix mode reproduces ToolBench', () => {
    expect(resolveFunctionName('search_for_tool', fns, { match: 'suffix' })?.index).toBe(0);
    expect(resolveFunctionName('p_search_for_tool', fns, { match: 'suffix' })?.index).toBe(1);
    expect(resolveFunctionName('', fns, { match: 'suffix' })?.index).toBe(0);
    expect(resolveFunctionName('nothing', fns, { match: 'suffix' })).toBeNull();
  });
});
