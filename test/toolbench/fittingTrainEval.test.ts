/**
 * One fitting policy, two paths: training re-reads the function list printed in a conversation's
 * system prompt and fits it; evaluation fits the query's functions before printing them. The two
 * prompts must be the same text, or the model would be evaluated on prompts it never saw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startConversation } from '../../src/eval/agent/conversation.js';
import { parseFittingPolicy } from '../../src/toolbench/fitting.js';
import { queryFunctions, toolListLines, type ToolQuery } from '../../src/toolbench/functions.js';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import { fillPromptTemplate } from '../../src/toolbench/promptTemplate.js';
import { PyFloat, pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { parsePythonLiteral } from '../../src/toolbench/pythonLiteral.js';
import { fitConversation } from '../../src/train/data/fitSystemPrompt.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const TEMPLATE = 'Use the tools.\n{tool_list}\nSpecifically, you have access to the following APIs: {functions}';
const POLICIES = ['compact', 'desc=16', 'compact,desc=64,no-optional,no-examples'].map(parseFittingPolicy);

/** The training system prompt as ToolBench renders it (no fitting) for a query. */
function trainingSystem(query: ToolQuery): string {
  return fillPromptTemplate(TEMPLATE, { tool_list: toolListLines(query), functions: pythonRepr(queryFunctions(query)) });
}

function expectSamePrompts(queries: readonly ToolQuery[]): void {
  for (const policy of POLICIES) {
    for (const query of queries) {
      const conv = { id: String(query.query_id), conversations: [{ from: 'system' as const, value: trainingSystem(query) }] };
      const fitted = fitConversation(conv, policy);
      expect(fitted.applied).toBe(true);
      expect(fitted.conv.conversations[0]!.value).toBe(startConversation(query, TEMPLATE, {}, policy).messages[0]!.content);
    }
  }
}

describe('fitting in training and evaluation', () => {
  it('gives the same system prompt on both paths, floats and big ints included', () => {
    const query = parseJsonLossless(
      JSON.stringify({ query: 'q', query_id: 1, 'relevant APIs': [], api_list: [] }).replace(
        '"api_list":[]',
        `"api_list":[{"category_name":"c","tool_name":"T","api_name":"a","api_description":"Rates, 'quoted' \\"both\\"",
          "required_parameters":[{"name":"x","type":"NUMBER","description":"d","default":1.0}],
          "optional_parameters":[{"name":"y","type":"NUMBER","description":"e","default":12345678901234567890}],"method":"GET"}]`,
      ),
    ) as ToolQuery;
    expect(query.api_list[0]!.required_parameters[0]!.default).toBeInstanceOf(PyFloat);
    expectSamePrompts([query]);
  });

  it.skipIf(toolbenchDir === null)(`gives the same system prompt for every G1_instruction test query ${toolbenchDir === null ? skipReasonNoToolbench : ''}`, () => {
    const queries = parseJsonLossless(readFileSync(join(toolbenchDir!, 'test', 'G1_instruction.json'), 'utf8')) as ToolQuery[];
    expectSamePrompts(queries);
  });

  it('leaves a conversation without a readable function list unchanged, and says so', () => {
    const conv = { id: 'x', conversations: [{ from: 'system' as const, value: 'No functions here.' }] };
    expect(fitConversation(conv, POLICIES[0]!)).toEqual({ conv, applied: false });
    expect(fitConversation(conv, parseFittingPolicy('toolbench'))).toEqual({ conv, applied: true });
  });

  it('reads Python numbers back exactly when asked', () => {
    expect(parsePythonLiteral('[1.0, 2, 1e+16]', { exactNumbers: true })).toEqual([new PyFloat(1), 2, new PyFloat(1e16)]);
    expect(parsePythonLiteral('12345678901234567890', { exactNumbers: true })).toBe(12345678901234567890n);
    expect(parsePythonLiteral('[1.0]')).toEqual([1]);
  });
});
