/**
 * Turning source records into checked ToolLLaMA conversations, before the first training step.
 * Each malformed record is reported with its file, index and field; `onBadRecord: 'skip'` leaves
 * it out and goes on, `'fail'` stops after reading everything, listing what was wrong.
 */
import { answerToConversations, type AnswerFile } from '../../toolbench/answerTree.js';
import type { ConversationTurn, ToolLlamaConversation } from '../../toolbench/render.js';
import { detectForm, readSourceRecords, type SourceForm, type SourceRecord } from './sources/sources.js';

export type OnBadRecord = 'skip' | 'fail';

export interface BadRecord {
  location: string;
  /** The offending field as a path (`conversations[3].from`), or null for the record as a whole. */
  field: string | null;
  message: string;
}

/** A conversation ready for rendering, with where it came from. */
export interface SftConversation {
  location: string;
  form: SourceForm;
  conversation: ToolLlamaConversation;
}

/** A problem with one field of one record. */
export class RecordError extends Error {
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(field === null ? message : `field "${field}": ${message}`);
  }
}

const TURN_ROLES = new Set(['system', 'user', 'function', 'assistant']);

/** Checks the ToolLLaMA conversation shape: `{id: string, conversations: [{from, value}, ...]}`. */
export function validateConversation(value: unknown): ToolLlamaConversation {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RecordError(null, 'expected an object with "id" and "conversations"');
  }
  const { id, conversations } = value as { id?: unknown; conversations?: unknown };
  if (typeof id !== 'string') throw new RecordError('id', 'expected a string');
  if (!Array.isArray(conversations) || conversations.length === 0) {
    throw new RecordError('conversations', 'expected a non-empty list of turns');
  }
  conversations.forEach((turn: unknown, i) => {
    const t = turn as Partial<ConversationTurn> | null;
    if (t === null || typeof t !== 'object') throw new RecordError(`conversations[${i}]`, 'expected an object');
    if (typeof t.from !== 'string' || !TURN_ROLES.has(t.from)) {
      const got = JSON.stringify(t.from);
      throw new RecordError(`conversations[${i}].from`, `expected system, user, function or assistant, got ${got}`);
    }
    if (typeof t.value !== 'string') throw new RecordError(`conversations[${i}].value`, 'expected a string');
    if (t.weight !== undefined) {
      if (t.from !== 'assistant') throw new RecordError(`conversations[${i}].weight`, `only an assistant turn has a loss weight, this is a ${t.from} turn`);
      if (t.weight !== 0 && t.weight !== 1) throw new RecordError(`conversations[${i}].weight`, `expected 0 or 1, got ${JSON.stringify(t.weight)}`);
    }
  });
  if (!conversations.some((t: ConversationTurn) => t.from === 'assistant')) {
    throw new RecordError('conversations', 'no assistant turn, so nothing to learn');
  }
  if (!conversations.some((t: ConversationTurn) => t.from === 'assistant' && t.weight !== 0)) {
    throw new RecordError('conversations', 'every assistant turn has weight 0, so nothing to learn');
  }
  return {
    id,
    conversations: conversations.map((t: ConversationTurn) => (t.weight === undefined ? { from: t.from, value: t.value } : { from: t.from, value: t.value, weight: t.weight })),
  };
}

/**
 * A chat-messages record → one ToolLLaMA conversation. Roles map one to one (`tool` → function).
 * An assistant message with `function_call` (or OpenAI `tool_calls`, first call) becomes the
 * ReAct text `\nThought: <content>\nAction: <name>\nAction Input: <arguments>`; one without a
 * call is used verbatim, so it should already be ReAct text.
 */
export function chatToConversation(value: unknown, fallbackId: string): ToolLlamaConversation {
  const messages = Array.isArray(value) ? value : (value as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) throw new RecordError('messages', 'expected a list of messages');
  const base = Array.isArray(value) ? '' : 'messages';
  const id = Array.isArray(value) ? undefined : (value as { id?: unknown }).id;
  const conversations = messages.map((m: unknown, i): ConversationTurn => {
    const field = `${base}[${i}]`;
    if (m === null || typeof m !== 'object') throw new RecordError(field, 'expected a message object');
    const msg = m as { role?: unknown; content?: unknown; function_call?: unknown; tool_calls?: unknown; weight?: unknown };
    // OpenAI's per-message loss weight; validateConversation checks its value.
    const weight = msg.weight === undefined ? {} : { weight: msg.weight as ConversationTurn['weight'] };
    const role = msg.role === 'tool' ? 'function' : msg.role;
    if (typeof role !== 'string' || !TURN_ROLES.has(role)) {
      const got = JSON.stringify(msg.role);
      throw new RecordError(`${field}.role`, `expected system, user, assistant, function or tool, got ${got}`);
    }
    const call = role === 'assistant' ? messageCall(msg, field) : null;
    if (call !== null) {
      const thought = typeof msg.content === 'string' ? msg.content : '';
      return { from: 'assistant', value: `\nThought: ${thought}\nAction: ${call.name}\nAction Input: ${call.arguments}`, ...weight };
    }
    if (typeof msg.content !== 'string') throw new RecordError(`${field}.content`, 'expected a string');
    return { from: role as ConversationTurn['from'], value: msg.content, ...weight };
  });
  return validateConversation({ id: typeof id === 'string' ? id : fallbackId, conversations });
}

function messageCall(
  msg: { function_call?: unknown; tool_calls?: unknown },
  field: string,
): { name: string; arguments: string } | null {
  let call = msg.function_call;
  let callField = `${field}.function_call`;
  if ((call === undefined || call === null) && Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0) {
    call = (msg.tool_calls[0] as { function?: unknown } | null)?.function;
    callField = `${field}.tool_calls[0].function`;
  }
  if (call === undefined || call === null) return null;
  const { name, arguments: args } = call as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string') throw new RecordError(`${callField}.name`, 'expected a string');
  if (typeof args === 'string') return { name, arguments: args };
  if (args !== null && typeof args === 'object') return { name, arguments: JSON.stringify(args) };
  throw new RecordError(`${callField}.arguments`, 'expected a JSON text or an object');
}

/** One source record → its conversations (an answer tree gives one per step). Throws RecordError. */
export function recordToConversations(record: SourceRecord): { form: SourceForm; conversations: ToolLlamaConversation[] } {
  if (record.parseError !== undefined) throw new RecordError(null, record.parseError);
  const form = detectForm(record.value);
  switch (form) {
    case 'toolllama':
      return { form, conversations: [validateConversation(record.value)] };
    case 'chat':
      return { form, conversations: [chatToConversation(record.value, record.location)] };
    case 'answer-tree':
      try {
        return { form, conversations: answerToConversations(record.value as AnswerFile, 'answer_generation') };
      } catch (err) {
        throw new RecordError(null, (err as Error).message);
      }
    case null:
      throw new RecordError(null, 'not a recognised record: expected "conversations", "answer_generation" or "messages"');
  }
}

/** Each record's outcome, in reading order: its conversations, or why it is malformed. */
export type ReadOutcome =
  | { ok: true; form: SourceForm; location: string; conversations: ToolLlamaConversation[] }
  | { ok: false; bad: BadRecord };

/** Streams the records under `paths` as checked conversations or bad-record reports. */
export async function* readConversations(paths: readonly string[]): AsyncGenerator<ReadOutcome> {
  for (const path of paths) {
    for await (const record of readSourceRecords(path)) {
      try {
        yield { ok: true, location: record.location, ...recordToConversations(record) };
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        yield { ok: false, bad: { location: record.location, field: err.field, message: err.message } };
      }
    }
  }
}

export interface LoadedConversations {
  conversations: SftConversation[];
  bad: BadRecord[];
  /** Records read per form (an answer tree counts once however many steps it yields). */
  recordsByForm: Record<SourceForm, number>;
}

/** Reads and checks every record under `paths`. With `fail`, throws listing the bad records. */
export async function loadConversations(
  paths: readonly string[],
  options: { onBadRecord: OnBadRecord },
): Promise<LoadedConversations> {
  const result: LoadedConversations = { conversations: [], bad: [], recordsByForm: emptyFormCounts() };
  for await (const outcome of readConversations(paths)) {
    if (!outcome.ok) {
      result.bad.push(outcome.bad);
      continue;
    }
    result.recordsByForm[outcome.form]++;
    for (const conversation of outcome.conversations) {
      result.conversations.push({ location: outcome.location, form: outcome.form, conversation });
    }
  }
  if (options.onBadRecord === 'fail' && result.bad.length > 0) throw new Error(describeBadRecords(result.bad));
  return result;
}

export function emptyFormCounts(): Record<SourceForm, number> {
  return { toolllama: 0, 'answer-tree': 0, chat: 0 };
}

/** A readable list of bad records (the first `limit`, then a count of the rest). */
export function describeBadRecords(bad: readonly BadRecord[], limit = 20): string {
  const lines = bad.slice(0, limit).map((b) => `  ${b.location}: ${b.message}`);
  if (bad.length > limit) lines.push(`  ... and ${bad.length - limit} more`);
  return `${bad.length} malformed training record(s) (use --on-bad-record skip to leave them out):\n${lines.join('\n')}`;
}
