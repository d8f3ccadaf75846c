/**
 * The grammar of a constrained Action Input (`--constrain-actions`), as JSON-schema guided decoding
 * bounds a function's arguments: the input is one JSON object; a key of its top level may only be
 * one of the called function's parameters not yet written (the schema's `properties`), and the
 * value of a parameter whose schema lists an `enum` only one of those strings (Finish's
 * `return_type`). Every other value may be any JSON value. Between tokens one space at most, as
 * guided decoding's JSON grammars allow by default, since a model kept from writing what it wanted
 * may otherwise write blanks until the step's budget is spent.
 *
 * The scanner reads the text as it grows, one character at a time, so a token that closes one
 * string and opens the next is checked whole.
 */
import type { TokenPieces } from './actionNames.js';

/** What a function's input may hold: its parameters' keys, and the values allowed for those with an enum. */
export interface InputSchema {
  keys: readonly string[];
  enums?: Readonly<Record<string, readonly string[]>>;
}

type Mode =
  | 'open' // before the object's brace, which comes first
  | 'keyOrEnd' // after `{`
  | 'key' // after `,` in an object
  | 'keyText' // inside a key
  | 'colon' // after a key
  | 'value' // after `:`, or after `,` in an array
  | 'valueOrEnd' // after `[`
  | 'string' // inside a string value
  | 'number'
  | 'literal' // true, false or null
  | 'after' // after a value: `,` or the container's end
  | 'closed'; // the object has closed: nothing after it is constrained

interface ScanState {
  mode: Mode;
  /** The open containers, innermost last: `{` or `[`. */
  stack: string;
  /** Inside a string, after a backslash; or the hex digits a `\u` escape still needs. */
  escape: 'none' | 'next' | number;
  /** Whether this gap between tokens has had its one space. */
  spaced: boolean;
  /** The key, enum value, number or literal written so far. */
  text: string;
  /** The literal being written. */
  literal: string;
  /** Top-level keys written. */
  used: readonly string[];
  /** The top-level key just written, until its value starts. */
  pending: string | null;
  /** While a top-level enum value is written: the values allowed, as JSON string contents. */
  enumOf: readonly string[] | null;
}

const START: ScanState = { mode: 'open', stack: '', escape: 'none', spaced: false, text: '', literal: '', used: [], pending: null, enumOf: null };

const GAPS: ReadonlySet<Mode> = new Set(['keyOrEnd', 'key', 'colon', 'value', 'valueOrEnd', 'after']);
const NUMBER_PREFIX = /^-?(?:(?:0|[1-9]\d*)(?:\.(?:\d+(?:[eE][+-]?\d*)?)?|[eE][+-]?\d*)?)?$/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERALS: Record<string, string> = { t: 'true', f: 'false', n: 'null' };

/** A key as it appears between its quotes in JSON text. */
function jsonContent(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** The state after `text`, or null when the text breaks the grammar. */
function scan(state: ScanState, text: string, schema: InputSchema): ScanState | null {
  const s: ScanState = { ...state };
  for (const ch of text) {
    if (s.mode === 'closed') return s;
    if (!step(s, ch, schema)) return null;
  }
  return s;
}

/** One character: updates `s`, or returns false when the character breaks the grammar. */
function step(s: ScanState, ch: string, schema: InputSchema): boolean {
  if (GAPS.has(s.mode)) {
    if (ch === ' ') {
      if (s.spaced) return false;
      s.spaced = true;
      return true;
    }
    s.spaced = false;
  }
  const topLevel = s.stack.length === 1;
  switch (s.mode) {
    case 'open':
      // The label before the input ends in its space, so the brace comes at once.
      if (ch !== '{') return false;
      s.stack = '{';
      s.mode = 'keyOrEnd';
      return true;
    case 'keyOrEnd':
    case 'key':
      return s.mode === 'keyOrEnd' && ch === '}' ? close(s) : startKey(s, ch);
    case 'keyText':
    case 'string':
      return inString(s, ch, schema, topLevel);
    case 'colon':
      if (ch !== ':') return false;
      s.mode = 'value';
      if (topLevel && s.pending !== null) {
        const values = schema.enums?.[s.pending];
        s.enumOf = values ? values.map(jsonContent) : null;
        s.pending = null;
      }
      return true;
    case 'valueOrEnd':
    case 'value':
      return s.mode === 'valueOrEnd' && ch === ']' ? close(s) : startValue(s, ch);
    case 'number': {
      if (NUMBER_PREFIX.test(s.text + ch)) {
        s.text += ch;
        return true;
      }
      if (!NUMBER.test(s.text)) return false;
      s.mode = 'after';
      return step(s, ch, schema);
    }
    case 'literal':
      if (ch !== s.literal[s.text.length]) return false;
      s.text += ch;
      if (s.text === s.literal) s.mode = 'after';
      return true;
    case 'after':
      if (ch === ',') {
        s.mode = s.stack.endsWith('{') ? 'key' : 'value';
        return true;
      }
      if ((ch === '}' && s.stack.endsWith('{')) || (ch === ']' && s.stack.endsWith('['))) return close(s);
      return false;
    case 'closed':
      return true;
  }
}

function startKey(s: ScanState, ch: string): boolean {
  if (ch !== '"') return false;
  s.mode = 'keyText';
  s.text = '';
  return true;
}

function startValue(s: ScanState, ch: string): boolean {
  if (s.enumOf !== null && ch !== '"') return false;
  if (ch === '"') {
    s.mode = 'string';
    s.text = '';
  } else if (ch === '{' || ch === '[') {
    s.stack += ch;
    s.mode = ch === '{' ? 'keyOrEnd' : 'valueOrEnd';
  } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
    s.mode = 'number';
    s.text = ch;
  } else if (LITERALS[ch]) {
    s.mode = 'literal';
    s.literal = LITERALS[ch]!;
    s.text = ch;
  } else return false;
  return true;
}

/** A character inside a key or a string value. */
function inString(s: ScanState, ch: string, schema: InputSchema, topLevel: boolean): boolean {
  const isKey = s.mode === 'keyText';
  const checked = (isKey && topLevel) || (!isKey && s.enumOf !== null);
  if (s.escape === 'next') {
    if (!'"\\/bfnrtu'.includes(ch)) return false;
    s.escape = ch === 'u' ? 4 : 'none';
  } else if (typeof s.escape === 'number') {
    if (!/[0-9a-fA-F]/.test(ch)) return false;
    s.escape = s.escape === 1 ? 'none' : s.escape - 1;
  } else if (ch === '\\') s.escape = 'next';
  else if (ch === '"') return endString(s, schema, isKey, topLevel);
  else if (ch < ' ') return false; // JSON strings hold no raw control characters (a newline among them)
  if (!checked) return true;
  s.text += ch;
  const candidates = isKey ? schema.keys.filter((k) => !s.used.includes(k)).map(jsonContent) : s.enumOf!;
  return candidates.some((c) => c.startsWith(s.text));
}

function endString(s: ScanState, schema: InputSchema, isKey: boolean, topLevel: boolean): boolean {
  if (isKey) {
    if (topLevel) {
      const key = schema.keys.find((k) => !s.used.includes(k) && jsonContent(k) === s.text);
      if (key === undefined) return false;
      s.used = [...s.used, key];
      s.pending = key;
    }
    s.mode = 'colon';
    return true;
  }
  if (s.enumOf !== null) {
    if (!s.enumOf.includes(s.text)) return false;
    s.enumOf = null;
  }
  s.mode = 'after';
  return true;
}

function close(s: ScanState): boolean {
  s.stack = s.stack.slice(0, -1);
  s.mode = s.stack === '' ? 'closed' : 'after';
  return true;
}

const inStringCache = new WeakMap<TokenPieces, Map<string, number[]>>();
const IN_STRING_CACHE_SIZE = 256;

/** Whether `written` (the text after `Action Input: `) can still become an input the grammar takes. */
export function validInputPrefix(written: string, schema: InputSchema): boolean {
  return scan(START, written, schema) !== null;
}

/**
 * The ids allowed next while writing the input `written` (the text after `Action Input: `) of a
 * function of `schema`, or null when unconstrained: after the object closes, or when the text
 * already strays (the model is then left free rather than stopped).
 */
export function allowedInputTokens(written: string, schema: InputSchema, vocabulary: TokenPieces): readonly number[] | null {
  const state = scan(START, written, schema);
  if (state === null || state.mode === 'closed') return null;
  const passes = (id: number) => scan(state, vocabulary.pieces[id]!, schema) !== null;
  let allowed: number[];
  if (state.mode === 'string' && state.enumOf === null && state.escape === 'none') {
    // Inside a free string a piece without a quote, a backslash or a control character stays inside
    // it; what the others may do depends only on the containers, the keys used and the schema, so
    // the set is kept per those (a batch writing values asks for the same set again and again).
    const key = JSON.stringify([state.stack, state.used, schema.keys, schema.enums ?? null]);
    const cache = inStringCache.get(vocabulary) ?? new Map<string, number[]>();
    inStringCache.set(vocabulary, cache);
    let ids = cache.get(key);
    if (ids === undefined) {
      if (cache.size >= IN_STRING_CACHE_SIZE) cache.clear();
      ids = mergeAscending(vocabulary.plain, vocabulary.structural.filter(passes));
      cache.set(key, ids);
    }
    allowed = ids;
  } else {
    // Elsewhere the next characters are bounded: read only the pieces whose first two characters
    // may come (a gap's space is a quarter of a large vocabulary's first characters).
    allowed = [];
    for (const [first, byTwo] of vocabulary.byFirstTwo) {
      if (scan(state, first, schema) === null) continue;
      for (const [start, ids] of byTwo) {
        if (scan(state, start, schema) === null) continue;
        for (const id of ids) if (vocabulary.pieces[id]!.length <= 2 || passes(id)) allowed.push(id);
      }
    }
    allowed.sort((a, b) => a - b);
  }
  return allowed.length > 0 ? allowed : null;
}

function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!);
  return out;
}
