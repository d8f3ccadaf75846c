/**
 * ToolEval's converted answers (docs/toolbench-formats.md §f): a file maps each query id to
 * `{query, available_tools, answer: {method, total_steps, final_answer, answer_details}}`, the
 * details a chain of `{role, message, next}` nodes. A tool node's message comes in two forms:
 * StableToolBench writes a dict `{name, arguments, response}`; ToolBench wrote Python's `str()` of
 * that dict, cut to 100 characters. Both are read; what a cut took away is marked, never guessed.
 */
import { readDictPrefix } from '../../toolbench/pythonLiteral.js';
import type { RecordedAnswer, RecordedCall } from './recordedAnswers.js';

/** Whether a parsed file is a converted-answer file: an object whose entries hold `answer`. */
export function isConvertedAnswerFile(data: unknown): data is Record<string, unknown> {
  return isObject(data) && Object.values(data).some((entry) => isObject(entry) && 'answer' in entry);
}

/** Every entry of a converted-answer file, each named `<file>: query <id>` in errors. */
export function readConvertedFile(data: Record<string, unknown>, file: string, group: string): RecordedAnswer[] {
  return Object.entries(data).map(([id, entry]) => {
    const where = `${file}: query ${id}`;
    if (!/^\d{1,15}$/.test(id)) throw new Error(`${file}: key ${JSON.stringify(id.slice(0, 40))} is not a query id`);
    if (!isObject(entry)) throw new Error(`${where}: expected an object`);
    return readConvertedEntry(Number(id), entry, where, group);
  });
}

function readConvertedEntry(queryId: number, entry: Record<string, unknown>, where: string, group: string): RecordedAnswer {
  const answer = entry.answer;
  if (!isObject(answer)) throw new Error(`${where}: field "answer" must be an object`);
  if (typeof entry.query !== 'string') throw new Error(`${where}: field "query" must be a string`);
  if (!Array.isArray(answer.answer_details)) throw new Error(`${where}: field "answer.answer_details" must be an array`);
  if (typeof answer.final_answer !== 'string') throw new Error(`${where}: field "answer.final_answer" must be a string`);
  const calls: RecordedCall[] = [];
  // The chain is followed through next[0], as ToolEval does; a loop, however long the chain.
  let node: unknown = answer.answer_details[0];
  for (let k = 0; node !== undefined; k++) {
    if (!isObject(node)) throw new Error(`${where}: answer_details node ${k} must be an object`);
    if (node.role === 'tool') calls.push(readToolMessage(node.message, `${where}: answer_details node ${k} "message"`));
    if (node.next !== undefined && !Array.isArray(node.next)) throw new Error(`${where}: answer_details node ${k} field "next" must be an array`);
    node = node.next?.[0];
  }
  return {
    group,
    queryId,
    query: entry.query,
    method: typeof answer.method === 'string' ? answer.method : '',
    finalAnswer: answer.final_answer,
    calls,
    toolEval: entry,
  };
}

/** A tool node's message, dict or `str()` of a dict, cut or whole. */
export function readToolMessage(message: unknown, where: string): RecordedCall {
  if (isObject(message)) {
    for (const key of ['name', 'arguments', 'response'] as const) {
      if (message[key] !== undefined && typeof message[key] !== 'string') throw new Error(`${where}: field "${key}" must be a string`);
    }
    if (typeof message.name !== 'string') throw new Error(`${where}: field "name" must be a string`);
    return { name: message.name, arguments: (message.arguments as string) ?? '', response: (message.response as string) ?? '' };
  }
  if (typeof message !== 'string') throw new Error(`${where}: expected a dict or Python's str() of one`);
  const read = readDictPrefix(message);
  if (read === null) throw new Error(`${where}: expected Python's str() of a {name, arguments, response} dict`);
  const field = (key: string): { text: string; cut: boolean } => {
    const whole = read.entries[key];
    if (whole !== undefined) return { text: typeof whole === 'string' ? whole : String(whole), cut: false };
    if (read.cut?.key === key) return { text: read.cut.text, cut: true };
    return { text: '', cut: !read.complete };
  };
  const name = field('name');
  // A name cut in half stays as it is: no function has it, so the call counts as a wrong name.
  if (name.text === '' && !name.cut) throw new Error(`${where}: the dict has no "name"`);
  const args = field('arguments');
  const response = field('response');
  return {
    name: name.text,
    arguments: args.text,
    response: response.text,
    ...(args.cut ? { argumentsCut: true } : {}),
    ...(response.cut ? { responseCut: true } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
