/**
 * The demo's own data set, generated deterministically from a seed: kiln's invented tools
 * (demoTools.ts) as ToolBench-shaped API entries, queries in StableToolBench's test-query format
 * split into train and held-out eval queries by ToolBench's six categories, and for each train
 * query a trajectory that calls the query's APIs and finishes with an answer built from the
 * observations. Training data is cut from the trajectories the way ToolBench releases its own
 * (toolllama_G123_dfs_train.json, FORMAT.md §c): one conversation per assistant step, ending with
 * that step, so that every step the model learns is a last turn, followed by `</s>` in the
 * rendered text. Trained on whole trajectories instead, the model never saw an intermediate step
 * end (the separator after it is not an assistant token), so at inference it ran on past its
 * Action Input until the context overflowed.
 *
 * Categories follow ToolBench: G1 = one tool, G2 = two tools of one category, G3 = tools of
 * two categories; `_tool` / `_category` eval queries use a tool / category that no train
 * query uses (HELD_OUT_TOOL, HELD_OUT_CATEGORY). Observations are filled with random values, never
 * echoes of the arguments, as the eval's offline simulator does, so the model must copy answers
 * from the tool output.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiToFunction, changeName, standardize, type ApiEntry, type ToolQuery } from '../toolbench/functions.js';
import { kilnDemoSystemPrompt } from '../toolbench/promptTemplate.js';
import { pythonRepr } from '../toolbench/pythonRepr.js';
import { EOS_TEXT, renderConversation, type ConversationTurn, type ToolLlamaConversation } from '../toolbench/render.js';
import { SeededRandom } from '../model/random.js';
import { DEMO_TOOLS, HELD_OUT_CATEGORY, HELD_OUT_TOOL, type DemoApi, type DemoParam, type DemoToolSpec } from './demoTools.js';

export const DEMO_CATEGORIES = [
  'G1_instruction',
  'G1_category',
  'G1_tool',
  'G2_instruction',
  'G2_category',
  'G3_instruction',
] as const;
export type DemoCategory = (typeof DEMO_CATEGORIES)[number];

/** A tool as the data set describes it: its API entries in ToolBench's `api_list` shape. */
export interface DemoTool {
  category_name: string;
  tool_name: string;
  api_list: ApiEntry[];
}

export interface DemoDataOptions {
  seed: number;
  trainQueries: number;
  evalQueries: number;
}

export interface DemoData {
  tools: DemoTool[];
  /** One whole trajectory per train query, Finish last. */
  trainTrajectories: ToolLlamaConversation[];
  /** The training set: every trajectory cut after each of its assistant steps (stepInstances). */
  trainConversations: ToolLlamaConversation[];
  evalQueriesByCategory: Record<DemoCategory, ToolQuery[]>;
}

// Eval query ids start here, so they never meet train ids (ToolBench ids are unique across files).
const EVAL_ID_BASE = 100_000;

export function generateDemoData(options: DemoDataOptions): DemoData {
  const rng = new SeededRandom(options.seed);
  const tools = DEMO_TOOLS.map(toDemoTool);
  const seen = DEMO_TOOLS.filter((t) => t.name !== HELD_OUT_TOOL && t.category !== HELD_OUT_CATEGORY);
  const heldOutCategory = DEMO_TOOLS.filter((t) => t.category === HELD_OUT_CATEGORY);
  const heldOutTool = DEMO_TOOLS.filter((t) => t.name === HELD_OUT_TOOL);

  const evalQueriesByCategory = Object.fromEntries(DEMO_CATEGORIES.map((c) => [c, [] as ToolQuery[]])) as Record<
    DemoCategory,
    ToolQuery[]
  >;
  const evalTexts = new Set<string>();
  let evalId = EVAL_ID_BASE;
  DEMO_CATEGORIES.forEach((category, k) => {
    const count = Math.floor(options.evalQueries / 6) + (k < options.evalQueries % 6 ? 1 : 0);
    const pool = category.endsWith('_category') ? heldOutCategory : category === 'G1_tool' ? heldOutTool : seen;
    const group = category.slice(0, 2) as 'G1' | 'G2' | 'G3';
    for (let i = 0; i < count; i++) {
      const planned = planQuery(rng, group, pool);
      evalTexts.add(planned.text);
      evalQueriesByCategory[category].push(toQueryRecord(planned, evalId++));
    }
  });

  const trainTrajectories: ToolLlamaConversation[] = [];
  for (let id = 1; id <= options.trainQueries; id++) {
    const r = rng.next();
    const group = r < 0.5 ? 'G1' : r < 0.75 ? 'G2' : 'G3';
    let planned = planQuery(rng, group, seen);
    // Train and eval never share a query text; small slot pools make a few retries necessary.
    for (let tries = 0; evalTexts.has(planned.text); tries++) {
      if (tries > 1000) throw new Error('generateDemoData: cannot find train queries distinct from the eval queries');
      planned = planQuery(rng, group, seen);
    }
    trainTrajectories.push(trajectory(toQueryRecord(planned, id), planned, rng));
  }
  return { tools, trainTrajectories, trainConversations: trainTrajectories.flatMap(stepInstances), evalQueriesByCategory };
}

/** The conversation cut after each assistant turn, in order: as many instances as steps. */
export function stepInstances(conv: ToolLlamaConversation): ToolLlamaConversation[] {
  const out: ToolLlamaConversation[] = [];
  conv.conversations.forEach((turn, i) => {
    if (turn.from === 'assistant') out.push({ id: `${conv.id} (step ${out.length + 1})`, conversations: conv.conversations.slice(0, i + 1) });
  });
  return out;
}

function toApiEntry(tool: DemoToolSpec, api: DemoApi): ApiEntry {
  const param = (p: DemoParam) => ({ name: p.name, type: p.type, description: p.description, default: '' });
  return {
    category_name: tool.category,
    tool_name: tool.name,
    api_name: api.name,
    api_description: api.description,
    required_parameters: api.required.map(param),
    optional_parameters: (api.optional ?? []).map(param),
    method: 'GET',
    template_response: api.response,
  };
}

function toDemoTool(tool: DemoToolSpec): DemoTool {
  return { category_name: tool.category, tool_name: tool.name, api_list: tool.apis.map((api) => toApiEntry(tool, api)) };
}

interface PlannedCall {
  tool: DemoToolSpec;
  api: DemoApi;
  /** Argument values by the parameter's original name (for the query text). */
  values: Record<string, string | number>;
}

interface PlannedQuery {
  text: string;
  calls: PlannedCall[];
  apiList: ApiEntry[];
}

/**
 * One query of a group: G1 one tool (one or two of its APIs called), G2 two tools of one
 * category, G3 two tools of different categories (one call each; a third tool would not fit a
 * 768-token context). The offered api_list holds all of the tool's APIs for G1 and just the
 * called APIs for G2 and G3, to keep prompts short.
 */
function planQuery(rng: SeededRandom, group: 'G1' | 'G2' | 'G3', pool: readonly DemoToolSpec[]): PlannedQuery {
  let tools: DemoToolSpec[];
  if (group === 'G1') {
    tools = [rng.pick(pool)];
  } else if (group === 'G2') {
    const categories = [...new Set(pool.map((t) => t.category))].filter((c) => pool.filter((t) => t.category === c).length >= 2);
    const category = rng.pick(categories);
    const inCategory = pool.filter((t) => t.category === category);
    tools = rng.shuffle([...inCategory]).slice(0, 2);
  } else {
    const byCategory = rng.shuffle([...new Set(pool.map((t) => t.category))]).slice(0, 2);
    tools = byCategory.map((c) => rng.pick(pool.filter((t) => t.category === c)));
  }
  const calls: PlannedCall[] = [];
  for (const tool of tools) {
    const apis = rng.shuffle([...tool.apis]);
    const n = group === 'G1' && apis.length > 1 && rng.next() < 0.4 ? 2 : 1;
    for (const api of apis.slice(0, n)) calls.push({ tool, api, values: drawValues(rng, api) });
  }
  const offered = group === 'G1' ? tools[0]!.apis.map((a) => [tools[0]!, a] as const) : calls.map((c) => [c.tool, c.api] as const);
  const text = calls
    .map((c, i) => {
      const sentence = fillSlots(rng.pick(c.api.ask), c.values);
      return i === 0 ? sentence : `${rng.pick(['Also, ', 'And ', 'Then '])}${lowerFirst(sentence)}`;
    })
    .join(' ');
  return { text, calls, apiList: offered.map(([t, a]) => toApiEntry(t, a)) };
}

/** Values for the required parameters, and sometimes an optional one; paired slots differ. */
function drawValues(rng: SeededRandom, api: DemoApi): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  const draw = (p: DemoParam): void => {
    const source = p.values;
    let v: string | number;
    do {
      v = 'min' in source ? rng.int(source.min, source.max) : rng.pick(source);
    } while (typeof v === 'string' && Object.values(values).includes(v));
    values[p.name] = v;
  };
  api.required.forEach(draw);
  for (const p of api.optional ?? []) if (rng.next() < 0.3) draw(p);
  return values;
}

function fillSlots(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => String(values[name]));
}

function lowerFirst(s: string): string {
  return s.startsWith('I ') ? s : s[0]!.toLowerCase() + s.slice(1);
}

function toQueryRecord(planned: PlannedQuery, id: number): ToolQuery {
  // Key order as in StableToolBench's test files.
  return {
    api_list: planned.apiList,
    query: planned.text,
    'relevant APIs': planned.calls.map((c) => [c.tool.name, c.api.name] as [string, string]),
    query_id: id,
  };
}

/** Python's `json.dumps` of a flat object with ASCII values: `{"k": v, ...}`. */
function jsonDumps(obj: Record<string, unknown>): string {
  return `{${Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

/** The train conversation: one call per planned call, each observed, then Finish. */
function trajectory(query: ToolQuery, planned: PlannedQuery, rng: SeededRandom): ToolLlamaConversation {
  const conversations: ConversationTurn[] = [
    { from: 'system', value: kilnDemoSystemPrompt(query) },
    { from: 'user', value: `\n${query.query}\nBegin!\n` },
  ];
  const facts: string[] = [];
  for (const call of planned.calls) {
    const fn = apiToFunction(toApiEntry(call.tool, call.api)).name;
    // Arguments use the names the function schema shows (`from` is shown as `is_from`).
    const args = Object.fromEntries(Object.entries(call.values).map(([k, v]) => [changeName(standardize(k)), v]));
    const thought = fillSlots(call.api.thought, call.values);
    conversations.push({ from: 'assistant', value: `\nThought: ${thought}\nAction: ${fn}\nAction Input: ${jsonDumps(args)}` });
    const body = fillSkeleton(call.api.response, rng) as Record<string, unknown>;
    conversations.push({ from: 'function', value: jsonDumps({ error: '', response: pythonRepr(body) }) });
    facts.push(`${call.api.name} for ${Object.values(call.values).join(', ')}: ${leafFacts(body).slice(0, 4).join(', ')}.`);
  }
  const finish = jsonDumps({ return_type: 'give_answer', final_answer: facts.join(' ') });
  const finishTurn = `\nThought: I have everything I need.\nAction: Finish\nAction Input: ${finish}`;
  conversations.push({ from: 'assistant', value: finishTurn });
  return { id: `demo ${query.query_id}: ${query.query}`, conversations };
}

const SYLLABLES = ['ba', 'cor', 'di', 'fen', 'gu', 'hal', 'jo', 'kes', 'lum', 'mar', 'nix', 'op', 'pra', 'riv', 'sun', 'tal'];

/** Fills a template_response skeleton with distinctive random values. */
function fillSkeleton(skeleton: unknown, rng: SeededRandom): unknown {
  if (Array.isArray(skeleton)) {
    const item = skeleton[0] as Record<string, unknown>;
    return Array.from({ length: Number(item._list_length ?? 1) }, () => fillSkeleton(item, rng));
  }
  if (skeleton !== null && typeof skeleton === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(skeleton)) if (k !== '_list_length') out[k] = fillSkeleton(v, rng);
    return out;
  }
  switch (skeleton) {
    case 'int':
      return rng.int(2, 99_999);
    case 'float':
      return Number(`${rng.int(1, 9999)}.${rng.int(11, 99)}`);
    case 'bool':
      return rng.next() < 0.5;
    default:
      return Array.from({ length: rng.int(1, 2) }, () => pseudoWord(rng)).join(' ');
  }
}

/** Two or three syllables, capitalised half of the time: values the model can only copy. */
function pseudoWord(rng: SeededRandom): string {
  const word = Array.from({ length: rng.int(2, 3) }, () => rng.pick(SYLLABLES)).join('');
  return rng.next() < 0.5 ? word[0]!.toUpperCase() + word.slice(1) : word;
}

/** `key value` for every scalar leaf, depth first (lists contribute all their items). */
function leafFacts(value: unknown, key = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => leafFacts(v, key));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafFacts(v, k));
  // Strings unquoted, so the answer reads naturally; numbers and booleans as the observation prints them.
  return [`${key} ${typeof value === 'string' ? value : pythonRepr(value)}`];
}

/**
 * Texts for training the demo's BPE tokenizer: every train trajectory as rendered (without
 * `</s>`, which the tokenizer should hold as a special token), and every tool's printed function
 * list, so held-out tools' names are not left to single bytes. No eval query text is included.
 */
export function demoTokenizerCorpus(data: DemoData): string[] {
  const conversations = data.trainTrajectories.map((c) => renderConversation(c, { lossOn: 'all' }).text.replaceAll(EOS_TEXT, ''));
  const tools = data.tools.map((t) => pythonRepr(t.api_list.map(apiToFunction)));
  return [...conversations, ...tools];
}

/** Writes `train.json`, `tools.json` and `queries/<category>.json` under `dir`, each atomically. */
export function writeDemoData(dir: string, data: DemoData): void {
  mkdirSync(join(dir, 'queries'), { recursive: true });
  writeJsonAtomic(join(dir, 'train.json'), data.trainConversations);
  writeJsonAtomic(join(dir, 'tools.json'), data.tools);
  for (const category of DEMO_CATEGORIES) {
    writeJsonAtomic(join(dir, 'queries', `${category}.json`), data.evalQueriesByCategory[category]);
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}
