/**
 * The demo's data set, generated from a seed over the catalogue (catalogue.ts): held-out queries
 * in StableToolBench's test-query format, eight or more per ToolBench group, and training
 * trajectories that call the query's APIs against the same offline simulator the evaluation runs,
 * then Finish with an answer that cites values from the observations.
 *
 * Groups (docs/demo.md): G1 one tool (its three APIs offered, one or two called), G2 two tools of
 * one category, G3 two tools of two categories (two APIs of each offered, one call to each tool).
 * `_instruction` queries use trained tools with new query texts; G1_tool uses tools never trained
 * on, in trained categories; G1_category and G2_category use tools of categories never trained on.
 *
 * Training conversations are whole trajectories: every assistant turn is a target, so one forward
 * pass teaches every step (ToolBench releases one conversation per step instead; see docs/demo.md
 * for what each form measured).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OfflineSimulator } from '../../src/eval/envs/offline.js';
import { observationText } from '../../src/eval/calls/observation.js';
import { digitRunsOf } from '../../src/eval/judges/evidence.js';
import { pythonJsonDumps } from '../../src/eval/calls/pythonJson.js';
import { writeFileAtomic } from '../../src/eval/report/results.js';
import { SeededRandom } from '../../src/model/random.js';
import { apiToFunction, type ApiEntry, type ToolQuery } from '../../src/toolbench/functions.js';
import { systemPromptFor } from '../../src/toolbench/promptTemplate.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { EOS_TEXT, renderConversation, type ConversationTurn, type ToolLlamaConversation } from '../../src/toolbench/render.js';
import { PARAM_KINDS, generateCatalogue, type DemoApi, type DemoTool, type ParamKind } from './catalogue.js';
import { glossaryConversations } from './glossary.js';

export const DEMO_GROUPS = ['G1_instruction', 'G1_category', 'G1_tool', 'G2_instruction', 'G2_category', 'G3_instruction'] as const;
export type DemoGroup = (typeof DEMO_GROUPS)[number];

/**
 * The demo's system prompt: the compact one-line-per-function rendering, since a model trained
 * from scratch in minutes has a short context to learn over. Saved with the checkpoint, so the
 * evaluation renders its prompts the same way.
 */
export const DEMO_PROMPT_TEMPLATE = 'Functions:\n{function_signatures}';

/**
 * The tokenizer settings of a demo Llama: its chat template prints the turns as ToolLLaMA's text
 * does (`System: `, `User: `, `Assistant: `, `Function: `), each assistant turn closed by `</s>`,
 * its end-of-turn token, so the model sees the same text whichever architecture the demo trains.
 */
export const DEMO_CHAT_TOKENIZER_CONFIG = {
  bos_token: '<s>',
  eos_token: '</s>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  add_bos_token: false,
  chat_template:
    "{% for m in messages %}{% if m.role == 'system' %}{{ 'System: ' + m.content + '\\n' }}" +
    "{% elif m.role == 'user' %}{{ 'User: ' + m.content + '\\n' }}" +
    "{% elif m.role == 'tool' %}{{ 'Function: ' + m.content + '\\n' }}" +
    "{% elif m.role == 'assistant' %}{{ 'Assistant: ' + m.content + '</s>\\n' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}",
};

export interface DemoDataOptions {
  seed: number;
  trainQueries: number;
  /** Held-out queries per group. */
  evalQueriesPerGroup: number;
  toolsPerCategory: number;
  heldOutToolsPerCategory: number;
  /**
   * Share of training trajectories whose first call fails, gets the error the evaluation would
   * give, and is made again correctly. The failed call has loss weight 0: the model learns to read
   * the error and retry, not to make the mistake.
   */
  retryShare: number;
  /** Of those, the share whose failed call has a wrong argument key instead of a tool the query does not offer. */
  argumentErrorShare: number;
  /**
   * Share of training queries whose topics are renamed, for that query only, to invented words of
   * several BPE pieces: the model must then copy the topic from the query to the Thought, the
   * Action line and the answer instead of recalling it, as it must for a category it never saw.
   */
  renamedTopicShare: number;
  /**
   * Glossary conversations per category, held-out categories included (glossary.ts): the words a
   * pretrained model would have read, without any tool, API or query of a held-out category.
   */
  glossaryPerCategory: number;
}

export interface DemoData {
  tools: DemoTool[];
  /** The training trajectories. */
  train: ToolLlamaConversation[];
  /** Conversations listing every category's topics, trained on beside the trajectories (glossary.ts). */
  glossary: ToolLlamaConversation[];
  /** The query record of each training trajectory, in the same order. */
  trainQueries: ToolQuery[];
  evalQueries: Record<DemoGroup, ToolQuery[]>;
  /** By eval query id: the calls that answer it, with the arguments its text states. */
  expectedCalls: Record<number, ExpectedCall[]>;
}

/** A call a query needs: the function, the arguments as the query states them, and the topic it asks for. */
export interface ExpectedCall {
  function: string;
  arguments: Record<string, string | number>;
  /** The word the query asks about (`stocks`), which a right answer names beside the number. */
  topic: string;
}

// Eval query ids start here, so they never meet train ids (ToolBench ids are unique across files).
const EVAL_ID_BASE = 1_000_000;

export async function generateDemoData(options: DemoDataOptions): Promise<DemoData> {
  const rng = new SeededRandom(options.seed);
  const tools = generateCatalogue(rng, options);
  const trained = tools.filter((t) => !t.heldOut);
  const pools: Record<DemoGroup, DemoTool[]> = {
    G1_instruction: trained,
    G1_category: tools.filter((t) => t.heldOut && !trained.some((s) => s.category === t.category)),
    G1_tool: tools.filter((t) => t.heldOut && trained.some((s) => s.category === t.category)),
    G2_instruction: trained,
    G2_category: tools.filter((t) => t.heldOut && !trained.some((s) => s.category === t.category)),
    G3_instruction: trained,
  };
  const evalQueries = {} as Record<DemoGroup, ToolQuery[]>;
  const expectedCalls: Record<number, ExpectedCall[]> = {};
  const evalTexts = new Set<string>();
  const simulator = new OfflineSimulator();
  let evalId = EVAL_ID_BASE;
  for (const group of DEMO_GROUPS) {
    evalQueries[group] = [];
    while (evalQueries[group].length < options.evalQueriesPerGroup) {
      const planned = planQuery(rng, group.slice(0, 2) as 'G1' | 'G2' | 'G3', pools[group]);
      if (evalTexts.has(planned.text)) continue;
      const query = toQueryRecord(planned, evalId);
      if (echoesQuery(query, (await trajectory(simulator, query, planned)).cited)) continue;
      evalTexts.add(planned.text);
      evalQueries[group].push(query);
      expectedCalls[evalId] = planned.calls.map((c) => ({
        function: apiToFunction(c.api.entry).name,
        arguments: Object.fromEntries(c.api.params.map((p, i) => [p.name, c.values[i]!])),
        topic: c.api.topic,
      }));
      evalId++;
    }
  }
  const train: ToolLlamaConversation[] = [];
  const trainQueries: ToolQuery[] = [];
  for (let id = 1; train.length < options.trainQueries; id++) {
    const r = rng.next();
    const drawn = planQuery(rng, r < 0.5 ? 'G1' : r < 0.75 ? 'G2' : 'G3', trained);
    const planned = options.renamedTopicShare > 0 && rng.next() < options.renamedTopicShare ? renameTopics(rng, drawn) : drawn;
    // Train and eval never share a query text.
    if (evalTexts.has(planned.text)) continue;
    const query = toQueryRecord(planned, id);
    const failure = options.retryShare > 0 && rng.next() < options.retryShare ? failedCall(rng, trained, planned, options.argumentErrorShare) : null;
    const { conversation, cited } = await trajectory(simulator, query, planned, failure);
    if (echoesQuery(query, cited)) continue;
    trainQueries.push(query);
    train.push(conversation);
  }
  // Drawn after the trajectories, so that the glossary's size leaves them as they were.
  const glossary = glossaryConversations(rng, options.glossaryPerCategory);
  return { tools, train, glossary, trainQueries, evalQueries, expectedCalls };
}

interface PlannedCall {
  api: DemoApi;
  values: (string | number)[];
  /** The API's parameter indices in the order the query states their values. */
  order: number[];
}

interface PlannedQuery {
  text: string;
  calls: PlannedCall[];
  offered: ApiEntry[];
}

/** One query of a group over a pool of tools; every API of the chosen tools is offered. */
/**
 * One query of a group over a pool of tools: one or two APIs of a G1 tool are called, one API of
 * each G2/G3 tool. G1 offers the tool's three APIs; G2 and G3 offer each tool's called API and one other.
 */
function planQuery(rng: SeededRandom, group: 'G1' | 'G2' | 'G3', pool: readonly DemoTool[]): PlannedQuery {
  let tools: DemoTool[];
  if (group === 'G1') tools = [rng.pick(pool)];
  else if (group === 'G2') {
    const categories = [...new Set(pool.map((t) => t.category))].filter((c) => pool.filter((t) => t.category === c).length >= 2);
    const category = rng.pick(categories);
    tools = rng.shuffle(pool.filter((t) => t.category === category)).slice(0, 2);
  } else {
    const categories = rng.shuffle([...new Set(pool.map((t) => t.category))]).slice(0, 2);
    tools = categories.map((c) => rng.pick(pool.filter((t) => t.category === c)));
  }
  const perTool = group === 'G1' && rng.next() < 0.3 ? 2 : 1;
  const chosenByTool = tools.map((t) => rng.shuffle([...t.apis]).slice(0, perTool));
  const calls = chosenByTool.flat().map((api) => ({
    api,
    values: api.params.map((p) => drawValue(rng, p)),
    order: rng.shuffle(api.params.map((_, i) => i)),
  }));
  const text = calls.map((c, i) => (i === 0 ? '' : rng.pick(['Also, ', 'Then ', 'And '])) + ask(rng, c, i > 0)).join(' ');
  const offered =
    group === 'G1'
      ? tools[0]!.apis
      : rng.shuffle(tools.flatMap((t, i) => [...chosenByTool[i]!, rng.pick(t.apis.filter((a) => !chosenByTool[i]!.includes(a)))]));
  return { text, calls, offered: offered.map((a) => a.entry) };
}

const TOPIC_SYLLABLES = ['tel', 'es', 'co', 'pe', 'mar', 'ist', 'ran', 'cho', 'ver', 'ble', 'gon', 'dit', 'sul', 'pra', 'nix', 'ot'];

/** The query with each offered API's topic replaced by an invented plural (`marchoves`), in its text, its calls and its function list. */
function renameTopics(rng: SeededRandom, planned: PlannedQuery): PlannedQuery {
  const names = new Map<string, string>();
  for (const e of planned.offered) {
    while (!names.has(e.api_name)) {
      const word = `${Array.from({ length: rng.int(2, 3) }, () => rng.pick(TOPIC_SYLLABLES)).join('')}s`;
      if (![...names.values()].includes(word)) names.set(e.api_name, word);
    }
  }
  const entry = (e: ApiEntry): ApiEntry => ({ ...e, api_name: names.get(e.api_name)! });
  return {
    text: planned.text.replace(/[a-z]+/g, (w) => names.get(w) ?? w),
    calls: planned.calls.map((c) => ({ ...c, api: { ...c.api, topic: names.get(c.api.topic)!, entry: entry(c.api.entry) } })),
    offered: planned.offered.map(entry),
  };
}

function drawValue(rng: SeededRandom, kind: ParamKind): string | number {
  return 'min' in kind.values ? rng.int(kind.values.min, kind.values.max) : rng.pick(kind.values);
}

const OPENERS = ['What are the', 'Show me the', 'Get the', 'Find the', 'I need the', 'Look up the', 'List the'];

/** `Show me the pollen in Oslo over 3 days.`: the topic, then each value in its kind's phrase, in the call's order. */
function ask(rng: SeededRandom, call: PlannedCall, continuing: boolean): string {
  const opener = rng.pick(OPENERS);
  const phrases = call.order.map((i) => call.api.params[i]!.phrase.replace('{v}', String(call.values[i])));
  const sentence = `${opener} ${call.api.topic} ${phrases.join(' ')}`;
  const text = continuing ? sentence[0]!.toLowerCase() + sentence.slice(1) : sentence;
  return `${text}${opener.startsWith('What') ? '?' : '.'}`;
}

function toQueryRecord(planned: PlannedQuery, id: number): ToolQuery {
  // Key order as in StableToolBench's test files.
  return {
    api_list: planned.offered,
    query: planned.text,
    'relevant APIs': planned.calls.map((c) => [c.api.entry.tool_name, c.api.entry.api_name] as [string, string]),
    query_id: id,
  };
}

/**
 * Whether an answer citing `cited` could not count as grounded: the rule judge ignores reply values
 * the query itself states (echo exclusion, docs/judge.md), so `top 17` and a reply's `'rank': 17`
 * would make even the right answer Unsure. Such queries are drawn again.
 */
function echoesQuery(query: ToolQuery, cited: readonly string[]): boolean {
  const stated = digitRunsOf(query.query);
  return cited.some((n) => stated.has(n));
}

/** How the first call of a trajectory goes wrong before it is made right: another tool's name, or one argument under another key. */
type FailedCall = { tool: string } | { key: ParamKind };

/**
 * A mistake the demo model makes: the name of a trained tool the query does not offer (what a
 * model that has not read the function list writes), or one argument under a key the API does not take.
 */
function failedCall(rng: SeededRandom, trained: readonly DemoTool[], planned: PlannedQuery, argumentErrorShare: number): FailedCall {
  if (rng.next() < argumentErrorShare) {
    const taken = new Set(planned.calls[0]!.api.params.map((p) => p.name));
    return { key: rng.pick(PARAM_KINDS.filter((k) => !taken.has(k.name))) };
  }
  const offered = new Set(planned.offered.map((e) => e.tool_name));
  return { tool: rng.pick(trained.filter((t) => !offered.has(t.name))).name };
}

/**
 * The training conversation: each planned call made against the simulator (the first one preceded,
 * when `failure` is given, by the failed call, of weight 0, and the error the evaluation gives it),
 * then Finish; and the numbers its answer cites.
 */
async function trajectory(
  simulator: OfflineSimulator,
  query: ToolQuery,
  planned: PlannedQuery,
  failure: FailedCall | null = null,
): Promise<{ conversation: ToolLlamaConversation; cited: string[] }> {
  const turns: ConversationTurn[] = [
    { from: 'system', value: systemPromptFor(DEMO_PROMPT_TEMPLATE, query) },
    { from: 'user', value: `\n${query.query}\nBegin!\n` },
  ];
  const facts: string[] = [];
  const cited: string[] = [];
  for (const call of planned.calls) {
    const fn = apiToFunction(call.api.entry).name;
    // Arguments in the order the query states them: each is then the next phrase of the query.
    const args = Object.fromEntries(call.order.map((i) => [call.api.params[i]!.name, call.values[i]]));
    const actionInput = pythonJsonDumps(args);
    if (failure !== null && call === planned.calls[0]) turns.push(...(await failedTurns(simulator, query, call, args, failure)));
    turns.push({ from: 'assistant', value: `\nThought: I need the ${call.api.topic}.\nAction: ${fn}\nAction Input: ${actionInput}` });
    const { reply } = await simulator.call({ query, category: 'train', api: call.api.entry, functionName: fn, actionInput });
    turns.push({ from: 'function', value: observationText(reply) });
    const number = replyFacts(String(reply.response));
    cited.push(number);
    facts.push(`${call.api.topic} ${number}.`);
  }
  const finish = pythonJsonDumps({ return_type: 'give_answer', final_answer: facts.join(' ') });
  turns.push({ from: 'assistant', value: `\nThought: I have the answer.\nAction: Finish\nAction Input: ${finish}` });
  return { conversation: { id: `demo ${query.query_id}: ${query.query}`, conversations: turns }, cited };
}

/** The failed call, of weight 0, and the error the evaluation gives it. */
async function failedTurns(
  simulator: OfflineSimulator,
  query: ToolQuery,
  call: PlannedCall,
  args: Record<string, unknown>,
  failure: FailedCall,
): Promise<ConversationTurn[]> {
  const thought = `\nThought: I need the ${call.api.topic}.`;
  if ('tool' in failure) {
    const wrong = apiToFunction({ ...call.api.entry, tool_name: failure.tool }).name;
    return [
      { from: 'assistant', value: `${thought}\nAction: ${wrong}\nAction Input: ${pythonJsonDumps(args)}`, weight: 0 },
      // The evaluation's own reply to an unknown name (src/eval/agent/executeAction.ts).
      { from: 'function', value: observationText({ error: `No such function name: ${wrong}`, response: '' }) },
    ];
  }
  // The first argument under the wrong key, the rest as they were.
  const entries = Object.entries(args);
  entries[0] = [failure.key.name, entries[0]![1]];
  const fn = apiToFunction(call.api.entry).name;
  const actionInput = pythonJsonDumps(Object.fromEntries(entries));
  const { reply } = await simulator.call({ query, category: 'train', api: call.api.entry, functionName: fn, actionInput });
  if (reply.error === '') throw new Error(`demo data: the simulator accepted ${actionInput} for ${fn}, which should fail`);
  return [
    { from: 'assistant', value: `${thought}\nAction: ${fn}\nAction Input: ${actionInput}`, weight: 0 },
    { from: 'function', value: observationText(reply) },
  ];
}

/**
 * `45` from a reply `{'rank': 45, 'label': 'Kamor Tilun'}`: its number, which the answer cites. The
 * answer does not repeat the field's name: in the reply it follows `'`, in prose a space, so the two
 * are different tokens, and copying across that difference is what a small model learned last.
 */
function replyFacts(response: string): string {
  const number = /'\w+': (\d+)/.exec(response);
  if (number === null) throw new Error(`demo data: no number in the simulator's reply ${pythonRepr(response)}`);
  return number[1]!;
}

/**
 * Writes `train.json` (the trajectories, then the glossary; the trainer shuffles), `tools.json`,
 * `queries/<group>.json` and `expected_calls.json` under `dir`, each atomically.
 */
export function writeDemoData(dir: string, data: DemoData): void {
  mkdirSync(join(dir, 'queries'), { recursive: true });
  writeJsonAtomic(join(dir, 'train.json'), trainedConversations(data));
  writeJsonAtomic(
    join(dir, 'tools.json'),
    data.tools.map((t) => ({ category_name: t.category, tool_name: t.name, held_out: t.heldOut, api_list: t.apis.map((a) => a.entry) })),
  );
  for (const group of DEMO_GROUPS) writeJsonAtomic(join(dir, 'queries', `${group}.json`), data.evalQueries[group]);
  writeJsonAtomic(join(dir, 'expected_calls.json'), data.expectedCalls);
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value));
}

/**
 * Texts for training the demo's BPE tokenizer: the training conversations and the glossary as
 * rendered (without `</s>`, a special token), never an eval query or a held-out tool.
 */
export function tokenizerCorpus(data: DemoData): string[] {
  return trainedConversations(data).map((c) => renderConversation(c, { lossOn: 'all' }).text.replaceAll(EOS_TEXT, ''));
}

/** Everything the model trains on, in `train.json`'s order: the trajectories, then the glossary. */
function trainedConversations(data: DemoData): ToolLlamaConversation[] {
  return [...data.train, ...data.glossary];
}
