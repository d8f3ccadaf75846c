/**
 * Recorded answers: trajectories someone else ran, read back as the sequence of calls on their
 * final path. Two layouts are read (FORMAT.md §c and §f):
 * - ToolEval's converted predictions, one JSON object `{<query_id>: {query, available_tools,
 *   answer: {method, final_answer, answer_details}}}` per file;
 * - ToolBench answer files `<query_id>_<method>.json`, read from `answer_generation.train_messages`
 *   (the final path) when present, else from the first attempt's chain (CoT) or the first-child
 *   walk of the tree (DFSDT).
 * They drive the replay policy, the replay environment and the rule judge's calibration.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface RecordedCall {
  name: string;
  /** The argument text as generated. */
  arguments: string;
  /** The observation text (json.dumps of the reply, possibly cut); `""` for Finish. */
  response: string;
}

export interface RecordedAnswer {
  queryId: number;
  query: string;
  method: string;
  /** The raw Finish argument string, `""` when the run never finished. */
  finalAnswer: string;
  calls: RecordedCall[];
}

/** Every recorded answer under `path` (a file or a directory, searched recursively), by query id. */
export function loadRecordedAnswers(path: string): Map<number, RecordedAnswer> {
  const out = new Map<number, RecordedAnswer>();
  for (const file of jsonFilesUnder(path)) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
    }
    const fromAnswerFile = /^(\d+)_[^/]+\.json$/.exec(basename(file));
    if (fromAnswerFile && isObject(data) && isObject(data.answer_generation)) {
      out.set(Number(fromAnswerFile[1]), readAnswerFile(Number(fromAnswerFile[1]), data, file));
    } else if (isObject(data)) {
      for (const [id, entry] of Object.entries(data)) {
        if (!/^\d+$/.test(id) || !isObject(entry) || !isObject(entry.answer)) continue;
        out.set(Number(id), readConverted(Number(id), entry, `${file}: query ${id}`));
      }
    }
  }
  return out;
}

function jsonFilesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const full = join(path, name);
      return statSync(full).isDirectory() ? jsonFilesUnder(full) : name.endsWith('.json') ? [full] : [];
    });
}

/** ToolEval's converted form: follow `answer_details[0]` along `next[0]`, keeping tool nodes. */
function readConverted(queryId: number, entry: Record<string, unknown>, where: string): RecordedAnswer {
  const answer = entry.answer as Record<string, unknown>;
  const calls: RecordedCall[] = [];
  let node: unknown = Array.isArray(answer.answer_details) ? answer.answer_details[0] : undefined;
  while (isObject(node)) {
    if (node.role === 'tool') {
      if (!isObject(node.message)) throw new Error(`${where}: a tool node has no message object`);
      calls.push({
        name: String(node.message.name ?? ''),
        arguments: String(node.message.arguments ?? ''),
        response: String(node.message.response ?? ''),
      });
    }
    node = Array.isArray(node.next) ? node.next[0] : undefined;
  }
  return {
    queryId,
    query: String(entry.query ?? ''),
    method: String(answer.method ?? ''),
    finalAnswer: String(answer.final_answer ?? ''),
    calls,
  };
}

function readAnswerFile(queryId: number, data: Record<string, unknown>, file: string): RecordedAnswer {
  const generation = data.answer_generation as Record<string, unknown>;
  const method = /^\d+_(.+)\.json$/.exec(basename(file))![1]!;
  const messages = Array.isArray(generation.train_messages) ? generation.train_messages.at(-1) : undefined;
  let calls: RecordedCall[];
  if (Array.isArray(messages)) calls = callsFromMessages(messages);
  else if (Array.isArray(data.trys)) {
    const first = data.trys[0];
    calls = isObject(first) && Array.isArray(first.chain) ? callsFromNodes(first.chain) : [];
  } else if (isObject(data.tree) && isObject(data.tree.tree)) calls = callsFromNodes(firstChildWalk(data.tree.tree));
  else throw new Error(`${file}: neither train_messages, trys nor tree found`);
  return {
    queryId,
    query: String(generation.query ?? ''),
    method,
    finalAnswer: String(generation.final_answer ?? ''),
    calls,
  };
}

function callsFromMessages(messages: unknown[]): RecordedCall[] {
  const calls: RecordedCall[] = [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    if (m.role === 'assistant' && isObject(m.function_call)) {
      calls.push({ name: String(m.function_call.name ?? ''), arguments: String(m.function_call.arguments ?? ''), response: '' });
    } else if (m.role === 'function' && calls.length > 0) {
      calls.at(-1)!.response = String(m.content ?? '');
    }
  }
  return calls;
}

/** Action → Action Input node pairs of a chain; the observation sits on the Action Input node. */
function callsFromNodes(nodes: unknown[]): RecordedCall[] {
  const calls: RecordedCall[] = [];
  let name: string | null = null;
  for (const n of nodes) {
    if (!isObject(n)) continue;
    if (n.node_type === 'Action') name = String(n.description ?? '');
    else if (n.node_type === 'Action Input' && name !== null) {
      calls.push({ name, arguments: String(n.description ?? ''), response: String(n.observation ?? '') });
      name = null;
    }
  }
  return calls;
}

function firstChildWalk(root: Record<string, unknown>): unknown[] {
  const path: unknown[] = [];
  let node: unknown = root;
  while (isObject(node)) {
    path.push(node);
    node = Array.isArray(node.children) ? node.children[0] : undefined;
  }
  return path;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
