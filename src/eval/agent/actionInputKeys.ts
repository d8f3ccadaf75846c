/**
 * The keys of a constrained Action Input (`--constrain-actions`): inside the JSON object, a key of
 * the top level may only be one of the called function's parameters not yet written, as a JSON
 * schema's `properties` bound them in guided decoding. Values, nesting and layout stay free. The
 * scanner reads the JSON text as it grows, one character at a time, so a token that closes one
 * string and opens the next is checked whole.
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
  /** The object has closed: nothing after it is constrained. */
  closed: boolean;
}

const START: ScanState = { depth: 0, inString: false, escaped: false, expectKey: false, key: null, used: [], closed: false };

/** The state after `text`, or null when it already breaks the key rule. */
function scan(state: ScanState, text: string, keys: readonly string[]): ScanState | null {
  const s = { ...state, used: [...state.used] };
  for (const ch of text) {
    if (s.closed) return s;
    if (s.inString) {
      if (s.escaped) s.escaped = false;
      else if (ch === '\\') s.escaped = true;
      else if (ch === '"') {
        s.inString = false;
        if (s.key !== null) {
          if (!keys.includes(s.key) || s.used.includes(s.key)) return null;
          s.used.push(s.key);
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
  }
  return s;
}

/**
 * The ids allowed next while writing the input `written` (the text after `Action Input:`) of a
 * function taking `keys`, or null when unconstrained: before the object opens, after it closes, or
 * when the text already strays (the model is then left free rather than stopped).
 */
export function allowedInputTokens(written: string, keys: readonly string[], vocabulary: TokenPieces): number[] | null {
  const state = scan(START, written, keys);
  if (state === null || state.closed || state.depth === 0) return null;
  const passes = (id: number) => scan(state, vocabulary.pieces[id]!, keys) !== null;
  const allowed = state.key !== null ? inKey(state.key, state.used, keys, vocabulary).filter(passes) : mergeAscending(vocabulary.plain, vocabulary.structural.filter(passes));
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
