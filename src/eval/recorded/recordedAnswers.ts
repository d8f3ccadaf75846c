/**
 * Recorded answers: trajectories someone else ran, read back as the sequence of calls on their
 * final path (docs/toolbench-formats.md §c, §f). Two layouts are read:
 * - ToolEval's converted answers, one file per group (`G1_instruction.json`) mapping query ids to
 *   entries, tool messages as dicts or as Python `str()` cut short (recorded/convertedAnswer.ts);
 * - ToolBench answer files `<group>/<query_id>_<method>.json`, read from
 *   `answer_generation.train_messages` (the final path) when present, else from the first
 *   attempt's chain (CoT) or the first-child walk of the tree (DFSDT).
 * Query ids are unique only within a group, so answers are keyed by (group, id).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isConvertedAnswerFile, readConvertedFile } from './convertedAnswer.js';

export interface RecordedCall {
  name: string;
  /** The argument text as generated (what survives of it, when `argumentsCut`). */
  arguments: string;
  /** The observation text (json.dumps of the reply, possibly cut); `""` for Finish. */
  response: string;
  /** Set when the recording cut the arguments or the response short. */
  argumentsCut?: boolean;
  responseCut?: boolean;
}

export interface RecordedAnswer {
  /** The query group (G1_instruction, …): the converted file's name or the answer file's folder. */
  group: string;
  queryId: number;
  query: string;
  method: string;
  /** The raw Finish argument string, `""` when the run never finished. */
  finalAnswer: string;
  calls: RecordedCall[];
  /** The converted entry exactly as recorded: what ToolEval's judge was given. */
  toolEval?: Record<string, unknown>;
}

/** Recorded answers by (group, id). */
export class RecordedAnswerSet {
  private readonly byKey = new Map<string, { answer: RecordedAnswer; file: string }>();

  add(answer: RecordedAnswer, file: string): void {
    const key = `${answer.group}\u0000${answer.queryId}`;
    const earlier = this.byKey.get(key);
    if (earlier) {
      throw new Error(
        `${file}: query ${answer.queryId} of ${answer.group} is recorded again (first in ${earlier.file}); point --replay at one run`,
      );
    }
    this.byKey.set(key, { answer, file });
  }

  /** The answer of query `id` in `group`; an answer of another group is never returned. */
  get(group: string, id: number): RecordedAnswer | undefined {
    return this.byKey.get(`${group}\u0000${id}`)?.answer;
  }

  all(): RecordedAnswer[] {
    return [...this.byKey.values()].map((v) => v.answer);
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** Every recorded answer under `path` (a file or a directory, searched recursively). */
export function loadRecordedAnswers(path: string): RecordedAnswerSet {
  const out = new RecordedAnswerSet();
  for (const file of jsonFilesUnder(path)) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
    }
    const fromAnswerFile = /^(\d+)_[^/]+\.json$/.exec(basename(file));
    if (fromAnswerFile && isObject(data) && isObject(data.answer_generation)) {
      out.add(readAnswerFile(Number(fromAnswerFile[1]), data, file), file);
    } else if (isConvertedAnswerFile(data)) {
      for (const answer of readConvertedFile(data, file, basename(file, '.json'))) out.add(answer, file);
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
    group: basename(dirname(file)),
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
