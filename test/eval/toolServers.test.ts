import { afterEach, describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/eval/envs/environment.js';
import { RapidApiClient } from '../../src/eval/envs/rapidapi.js';
import { StableToolBenchClient } from '../../src/eval/envs/stabletoolbench.js';
import type { ApiEntry, ToolQuery } from '../../src/toolbench/functions.js';
import { sendJson, startLocalServer } from './localServer.js';

const KEY = 'tb-secret-key-0123456789';
const api: ApiEntry = {
  category_name: 'Data',
  tool_name: 'TheClique',
  api_name: 'Transfermarkt search',
  api_description: 'Search by name',
  required_parameters: [{ name: 'name', type: 'STRING', description: '', default: 'messi' }],
  optional_parameters: [],
  method: 'GET',
};
const query: ToolQuery = { query: 'q', query_id: 588, api_list: [api], 'relevant APIs': [] };
const apiCall: ApiCall = { query, category: 'G1_instruction', api, functionName: 'transfermarkt_search_for_theclique', actionInput: '{"name": "Lionel Messi"}' };

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function server(handler: Parameters<typeof startLocalServer>[0]) {
  const s = await startLocalServer(handler);
  closers.push(s.close);
  return s;
}

const fast = { timeoutMs: 300, attempts: 3, retryDelayMs: 10 };

describe.each([
  ['StableToolBench virtual server', '/virtual', (url: string, logs: string[]) => new StableToolBenchClient({ url, key: KEY, ...fast, log: (l) => logs.push(l) })],
  ['RapidAPI server', '/rapidapi', (url: string, logs: string[]) => new RapidApiClient({ url, key: KEY, ...fast, callDelayMs: 0, rateLimitDelayMs: 0, log: (l) => logs.push(l) })],
] as const)('%s client', (_name, path, makeClient) => {
  it('sends the six fields and the key header, and reads the reply', async () => {
    const s = await server((_req, res) => sendJson(res, 200, { error: '', response: "{'club': 'Inter Miami'}" }));
    const logs: string[] = [];
    const result = await makeClient(`${s.url}${path}`, logs).call(apiCall);
    expect(result).toEqual({ reply: { error: '', response: "{'club': 'Inter Miami'}" }, code: 0 });
    const req = s.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(path);
    expect(req.headers.toolbench_key).toBe(KEY);
    expect(JSON.parse(req.body)).toEqual({
      category: 'Data',
      tool_name: 'theclique',
      api_name: 'transfermarkt_search',
      tool_input: '{"name": "Lionel Messi"}',
      strip: 'truncate',
      toolbench_key: KEY,
    });
  });

  it('maps error labels to status codes', async () => {
    const s = await server((_req, res) => sendJson(res, 200, { error: 'Unauthorized error...', response: '' }));
    expect((await makeClient(`${s.url}${path}`, []).call(apiCall)).code).toBe(7);
  });

  it('turns a non-200 reply into code 12 after retrying, without leaking the key', async () => {
    const s = await server((_req, res) => sendJson(res, 503, 'down'));
    const logs: string[] = [];
    const result = await makeClient(`${s.url}${path}`, logs).call(apiCall);
    expect(result).toEqual({ reply: { error: 'request invalid, data error. status_code=503', response: '' }, code: 12 });
    expect(s.requests).toHaveLength(3);
    expect(logs).toHaveLength(3);
    expect(JSON.stringify({ logs, result })).not.toContain(KEY);
  });

  it('retries after a timeout and succeeds', async () => {
    const s = await server((_req, res, i) => {
      if (i === 0) setTimeout(() => sendJson(res, 200, { error: '', response: 'late' }), 1000);
      else sendJson(res, 200, { error: '', response: 'in time' });
    });
    const logs: string[] = [];
    const result = await makeClient(`${s.url}${path}`, logs).call(apiCall);
    expect(result.reply.response).toBe('in time');
    expect(s.requests).toHaveLength(2);
    expect(logs[0]).toContain('timed out');
    expect(logs.join('\n')).not.toContain(KEY);
  });

  it('reports code 5 when every attempt times out', async () => {
    const s = await server((_req, res) => setTimeout(() => sendJson(res, 200, { error: '', response: 'late' }), 1000));
    const logs: string[] = [];
    const result = await makeClient(`${s.url}${path}`, logs).call(apiCall);
    expect(result.code).toBe(5);
    expect(result.reply.error).toMatch(/^Timeout error/);
    expect(JSON.stringify({ logs, result })).not.toContain(KEY);
  });
});

it('StableToolBench replies may hold a JSON object as the response', async () => {
  const s = await server((_req, res) => sendJson(res, 200, { error: '', response: { results: [1, 2] } }));
  const result = await new StableToolBenchClient({ url: `${s.url}/virtual`, ...fast }).call(apiCall);
  expect(result.reply.response).toEqual({ results: [1, 2] });
  expect(s.requests[0]!.headers.toolbench_key).toBeUndefined();
});

it('the RapidAPI client refuses to start without a key', () => {
  expect(() => new RapidApiClient({ url: 'http://127.0.0.1:1/rapidapi', key: '' })).toThrow(/TOOLBENCH_KEY/);
});
