import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parameterKey } from '../../src/eval/calls/apiArguments.js';
import { OfflineSimulator } from '../../src/eval/envs/offline.js';
import type { ApiCall } from '../../src/eval/envs/environment.js';
import { parsePartialJson } from '../../src/eval/calls/partialJson.js';
import { parsePythonLiteral } from '../../src/toolbench/pythonLiteral.js';
import { loadQueries } from '../../src/eval/queries.js';
import { apiToFunction, type ApiEntry, type ToolQuery } from '../../src/toolbench/functions.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

function validArgs(api: ApiEntry): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const p of api.required_parameters) args[parameterKey(p)] = p.type === 'NUMBER' ? 7 : p.type === 'BOOLEAN' ? true : 'kiln';
  return args;
}

function call(query: ToolQuery, api: ApiEntry, actionInput: string): ApiCall {
  return { query, category: 'test', api, functionName: apiToFunction(api).name, actionInput };
}

/** Does `value` have the skeleton's shape: the same keys, lists of filled elements, typed leaves? */
function conforms(skeleton: unknown, value: unknown): boolean {
  if (typeof skeleton === 'string') {
    if (skeleton === 'str') return typeof value === 'string';
    if (skeleton === 'int' || skeleton === 'float') return typeof value === 'number';
    if (skeleton === 'bool') return typeof value === 'boolean';
    if (skeleton === 'NoneType') return value === null;
    if (skeleton === 'empty list') return Array.isArray(value) && value.length === 0;
    return true;
  }
  if (Array.isArray(skeleton)) {
    if (!Array.isArray(value)) return false;
    const element = skeleton[0];
    return element === undefined || typeof element === 'string' || value.every((v) => conforms(element, v));
  }
  if (skeleton !== null && typeof skeleton === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const keys = Object.keys(skeleton).filter((k) => k !== '_list_length');
    return keys.every((k) => k in value && conforms((skeleton as Record<string, unknown>)[k], (value as Record<string, unknown>)[k]));
  }
  return true;
}

const sim = new OfflineSimulator();

describe('offline simulator, fixed cases', () => {
  const api: ApiEntry = {
    category_name: 'Data',
    tool_name: 'TheClique',
    api_name: 'Songkick concert',
    api_description: 'Concert info',
    required_parameters: [{ name: 'id_conc', type: 'string', description: '', default: '' }],
    optional_parameters: [{ name: 'limit', type: 'NUMBER', description: '', default: '' }],
    method: 'GET',
    template_response: { date: 'str', line_up: [{ link: 'str', name: 'str', _list_length: 2 }], fans: 'int' },
  };
  const query: ToolQuery = { query: 'q', query_id: 1, api_list: [api], 'relevant APIs': [] };

  it('answers bad calls with ToolBench-style errors', async () => {
    expect((await sim.call(call(query, api, 'not json'))).reply).toEqual({ error: 'Tool input parse error...\n', response: '' });
    expect((await sim.call(call(query, api, '{}'))).reply.error).toBe(
      "Function executing from my_tools.Data.theclique.api import songkick_concert error...\nsongkick_concert() missing 1 required positional argument: 'id_conc'",
    );
    expect((await sim.call(call(query, api, '{"id_conc": "x", "colour": 1}'))).reply.error).toContain(
      "got an unexpected keyword argument 'colour'",
    );
    const typed = await sim.call(call(query, api, '{"id_conc": "x", "limit": "many"}'));
    expect(typed.reply.error).toBe('');
    expect(typed.reply.response).toContain("Invalid parameter 'limit'");
  });

  it('answers a valid call in the template shape, the same way every time', async () => {
    const a = await sim.call(call(query, api, '{"id_conc": "x", "limit": 5}'));
    const b = await sim.call(call(query, api, '{ "limit": 5, "id_conc": "x" }'));
    expect(a).toEqual(b);
    expect(a.code).toBe(0);
    const value = parsePythonLiteral(a.reply.response as string) as Record<string, unknown>;
    expect(conforms(api.template_response, value)).toBe(true);
    expect(value.line_up).toHaveLength(2);
    const other = await sim.call(call({ ...query, query_id: 2 }, api, '{"id_conc": "x", "limit": 5}'));
    expect(other.reply.response).not.toEqual(a.reply.response);
  });
});

describe.skipIf(!toolbenchDir)(`offline simulator over every API of the 765 test queries ${toolbenchDir ? '' : skipReasonNoToolbench}`, () => {
  it('is deterministic and conforms to each template_response', async () => {
    const { queries } = loadQueries(join(toolbenchDir!, 'test'));
    let calls = 0;
    for (const { query } of queries) {
      for (const api of query.api_list) {
        const input = JSON.stringify(validArgs(api));
        const first = await sim.call(call(query, api, input));
        const again = await sim.call(call(query, api, input));
        expect(again).toEqual(first);
        expect(first.code).toBe(0);
        expect(first.reply.error).toBe('');
        const text = first.reply.response as string;
        expect(text.length).toBeGreaterThan(2);
        expect(text.length).toBeLessThanOrEqual(2048);
        const value = parsePythonLiteral(text);
        // Replies longer than the server's 2,048-character cut are no longer whole literals.
        if (text.length < 2048) {
          expect(value, `${query.query_id} ${api.api_name}`).not.toBeUndefined();
          const skeleton = typeof api.template_response === 'string' ? parsePartialJson(api.template_response) : api.template_response;
          if (skeleton && typeof skeleton === 'object' && Object.keys(skeleton).length > 0) {
            expect(conforms(skeleton, value), `${query.query_id} ${api.api_name}`).toBe(true);
          }
        }
        calls++;
      }
    }
    expect(calls).toBe(4070);
  });
});
