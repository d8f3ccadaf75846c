/**
 * The keys of a constrained Action Input (`--constrain-actions`): inside the JSON object, a key of
 * the top level may only be one of the called function's parameters not yet written, as a JSON
 * schema's `properties` bound them in guided decoding, and the value of a parameter whose schema
 * lists an `enum` may only be one of those strings (Finish's `return_type`); the input must be an
 * object. Other values, nesting and layout stay free. The scanner reads the JSON text as it grows, one character at a time, so a
 * token that closes one string and opens the next is checked whole.
 */
import type { TokenPieces } from './actionNames.js';

interface ScanState {
  depth: number;
  inString: boolean;
  escaped: boolean;
  /** At depth 1 after `{` or `,`: the next string is a key. */
  expectKey: boolean;
  /** The key being written, when inside a key string. */
  key: string | null;
  used: string[];
  /** The key just written, until its `:`. */
  pending: string | null;
  /** From the `:` of a key with an enum to the end of its value: the values allowed, as JSON strings without their quotes. */
  enumOf: readonly string[] | null;
  /** The enum value written so far, once its opening quote is. */
  enumText: string | null;
  /** Whether the one space allowed before the object's brace, or before an enum value's quote, was written. */
  spaced: boolean;
  /** The object has closed: nothing after it is constrained. */
  closed: boolean;
}

/** What a function's input may hold: its parameters' keys, and the values allowed for those with an enum. */
export interface InputSchema {
  keys: readonly string[];
  enums?: Readonly<Record<string, readonly string[]>>;
}

const START: ScanState = { depth: 0, inString: false, escaped: false, expectKey: false, key: null, used: [], pending: null, enumOf: null, enumText: null, spaced: false, closed: false };

/** The state after `text`, or null when it already breaks the key or enum rule. */
function scan(state: ScanState, text: string, schema: InputSchema): ScanState | null {
  const { keys } = schema;
  const s = { ...state, used: [...state.used] };
  for (const ch of text) {
    if (s.closed) return s;
    if (s.depth === 0) {
      // Before the object: one space at most, then its brace (the input of a function is an object).
      if (ch === '{') {
        s.depth = 1;
        s.expectKey = true;
      } else if (ch !== ' ' || s.spaced) return null;
      else s.spaced = true;
      continue;
    }
    if (s.enumText !== null) {
      if (s.escaped) s.escaped = false;
      else if (ch === '\\') s.escaped = true;
      else if (ch === '"') {
        if (!s.enumOf!.includes(s.enumText)) return null;
        s.inString = false;
        s.spaced = false;
        s.enumOf = null;
        s.enumText = null;
        continue;
      }
      s.enumText += ch;
      if (!s.enumOf!.some((v) => v.startsWith(s.enumText!))) return null;
      continue;
    }
    if (s.pending !== null && schema.enums?.[s.pending] && ch !== ':') return null;
    if (s.enumOf !== null) {
      // Between the `:` and the value's opening quote: one space at most, as guided decoding's
      // JSON grammars allow by default, since a model kept from writing its own value may write
      // blanks until the budget is spent.
      if (ch === '"') {
        s.inString = true;
        s.enumText = '';
      } else if (ch !== ' ' || s.spaced) return null;
      else s.spaced = true;
      continue;
    }
    if (s.inString) {
      if (s.escaped) s.escaped = false;
      else if (ch === '\\') s.escaped = true;
      else if (ch === '"') {
        s.inString = false;
        if (s.key !== null) {
          if (!keys.includes(s.key) || s.used.includes(s.key)) return null;
          s.used.push(s.key);
          s.pending = s.key;
          s.key = null;
        }
        continue;
      }
      if (s.key !== null) {
        s.key += ch;
        if (!keys.some((k) => !s.used.includes(k) && k.startsWith(s.key!))) return null;
      }
      continue;
    }
    if (ch === '"') {
      s.inString = true;
      if (s.depth === 1 && s.expectKey) {
        s.key = '';
        s.expectKey = false;
      }
    } else if (ch === '{' || ch === '[') {
      s.depth++;
      if (s.depth === 1) s.expectKey = true;
    } else if (ch === '}' || ch === ']') {
      s.depth--;
      if (s.depth === 0) s.closed = true;
    } else if (ch === ',' && s.depth === 1) s.expectKey = true;
    else if (ch === ':' && s.depth === 1 && s.pending !== null) {
      const values = schema.enums?.[s.pending];
      if (values) {
        s.enumOf = values.map((v) => JSON.stringify(v).slice(1, -1));
        s.spaced = false;
      }
      s.pending = null;
    }
  }
  return s;
}

/**
 * The ids allowed next while writing the input `written` (the text after `Action Input:`) of a
 * function of `schema`, or null when unconstrained: after the object closes, or when the text
 * already strays (the model is then left free rather than stopped). Before the object only its
 * opening brace may come, after one space at most.
 */
export function allowedInputTokens(written: string, schema: InputSchema, vocabulary: TokenPieces): number[] | null {
  const state = scan(START, written, schema);
  if (state === null || state.closed) return null;
  const passes = (id: number) => scan(state, vocabulary.pieces[id]!, schema) !== null;
  let allowed: number[];
  if (state.depth === 0) allowed = [...(vocabulary.byFirstChar.get(' ') ?? []), ...(vocabulary.byFirstChar.get('{') ?? [])].filter(passes).sort((a, b) => a - b);
  else if (state.key !== null) allowed = inKey(state.key, state.used, schema.keys, vocabulary).filter(passes);
  else if (state.enumOf !== null || (state.pending !== null && schema.enums?.[state.pending])) {
    // Around an enum's value even a piece without quotes or brackets can break the rule (`: 990`).
    allowed = vocabulary.pieces.flatMap((piece, id) => (piece !== '' && passes(id) ? [id] : []));
  } else allowed = mergeAscending(vocabulary.plain, vocabulary.structural.filter(passes));
  return allowed.length > 0 ? allowed : null;
}

/**
 * Inside a key, the pieces that may pass: those beginning with the next character of a key still
 * open, or with the closing quote of one complete. Outside a key, a piece without a structural
 * character cannot open or close one, so only the structural pieces need the scan.
 */
function inKey(key: string, used: readonly string[], keys: readonly string[], vocabulary: TokenPieces): number[] {
  const next = new Set(keys.filter((k) => !used.includes(k) && k.startsWith(key)).map((k) => (k.length > key.length ? k[key.length]! : '"')));
  return [...next].flatMap((c) => vocabulary.byFirstChar.get(c) ?? []).sort((a, b) => a - b);
}

function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!);
  return out;
}
