/**
 * Stand-ins for what a reproduction downloads and reads: a 127.0.0.1 hub that serves a model
 * directory (the tiny OPT of test/train/tinyRun.ts) under the name facebook/opt-350m, and a tiny
 * ToolBench-format data set (ToolLLaMA training conversations and six groups of test queries).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { queryFunctions, toolListLines, type ApiEntry, type ToolQuery } from '../../src/toolbench/functions.js';
import { fillPromptTemplate } from '../../src/toolbench/promptTemplate.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';
import type { ToolLlamaConversation } from '../../src/toolbench/render.js';

export const STAND_IN_TEMPLATE = 'Solve the task with the functions.\nTools:\n{tool_list}\nSpecifically, you have access to the following APIs: {functions}';
export const GROUPS = ['G1_instruction', 'G1_category', 'G1_tool', 'G2_category', 'G2_instruction', 'G3_instruction'];
const CITIES = ['Oslo', 'Lima', 'Pune', 'Kyiv', 'Riga', 'Doha', 'Baku', 'Suva'];

function weatherApi(tool: string): ApiEntry {
  return {
    category_name: 'Weather',
    tool_name: tool,
    api_name: 'Current weather',
    api_description: 'Returns the current temperature and sky for a city, in degrees Celsius, updated every ten minutes.',
    required_parameters: [{ name: 'city', type: 'STRING', description: 'The city, in English, as on a map of the world.', default: 'Oslo' }],
    optional_parameters: [{ name: 'units', type: 'STRING', description: 'metric or imperial', default: 'metric' }],
    method: 'GET',
  };
}

function query(id: number): ToolQuery {
  const tool = `Sky ${id % 3}`;
  return { query: `What is the weather in ${CITIES[id % CITIES.length]}?`, query_id: id, api_list: [weatherApi(tool)], 'relevant APIs': [[tool, 'Current weather']] };
}

function conversation(q: ToolQuery): ToolLlamaConversation {
  const [fn] = queryFunctions(q);
  const city = /in (\w+)\?/.exec(q.query)![1];
  return {
    id: `Step 2: ${q.query}`,
    conversations: [
      { from: 'system', value: fillPromptTemplate(STAND_IN_TEMPLATE, { tool_list: toolListLines(q), functions: pythonRepr(queryFunctions(q)) }) },
      { from: 'user', value: `\n${q.query}\nBegin!\n` },
      { from: 'assistant', value: `\nThought: \nAction: ${fn!.name}\nAction Input: {"city": "${city}"}` },
      { from: 'function', value: '{"error": "", "response": "{\'temp\': 3}"}' },
      { from: 'assistant', value: '\nThought: \nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "3 C"}' },
    ],
  };
}

/** `<dir>/train.json` (ToolLLaMA conversations) and `<dir>/queries/<group>.json`; returns the texts for a tokenizer. */
export function writeStandInData(dir: string): { train: string; queries: string; texts: string[] } {
  const conversations = Array.from({ length: 16 }, (_, i) => conversation(query(100 + i)));
  const queries = join(dir, 'queries');
  mkdirSync(queries, { recursive: true });
  GROUPS.forEach((group, g) => writeFileSync(join(queries, `${group}.json`), JSON.stringify([query(g * 2), query(g * 2 + 1)])));
  const train = join(dir, 'train.json');
  writeFileSync(train, JSON.stringify(conversations));
  return { train, queries, texts: conversations.flatMap((c) => c.conversations.map((t) => t.value)) };
}

export interface StandInHub {
  url: string;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves the files of `modelDir` as hub repo `repo` (`/<repo>/resolve/main/<file>`), 404 for anything else. */
export async function serveHub(repo: string, modelDir: string): Promise<StandInHub> {
  const files = new Set(readdirSync(modelDir));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url!);
    const prefix = `/${repo}/resolve/main/`;
    const file = req.url!.startsWith(prefix) ? decodeURIComponent(req.url!.slice(prefix.length)) : '';
    if (!files.has(file)) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    const body = readFileSync(join(modelDir, file));
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

