/**
 * Lexical evidence that an answer uses what a tool returned (docs/judge.md, "Evidence"): the
 * distinctive values of a reply — numbers of two or more digits, and the 4+-character tokens of
 * its strings — with everything the user or the model already said removed, matched against the
 * answer text. Of a reply cut short, only the values that survive whole count.
 */
import { parsePythonLiteral } from '../../toolbench/pythonLiteral.js';
import { wholeLeaves, type Leaves } from './wholeLeaves.js';

// Words too common in replies to show that the answer used one.
const STOP_WORDS = new Set([
  'true', 'false', 'none', 'null', 'success', 'successful', 'error', 'errors', 'data', 'name', 'type',
  'status', 'message', 'result', 'results', 'response', 'value', 'values', 'items', 'item', 'info',
  'information', 'details', 'with', 'from', 'that', 'this', 'have', 'your', 'will', 'about', 'there',
  'their', 'which', 'when', 'what', 'where', 'here', 'also', 'more', 'been', 'were', 'they', 'them',
  'than', 'then', 'into', 'some', 'such', 'only', 'other', 'these', 'those', 'over', 'just', 'like',
]);

/** One distinctive value of a reply: a number, or the token set of one string. */
export type EvidenceValue = { kind: 'number'; digits: string } | { kind: 'tokens'; tokens: Set<string> };

export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Tokens of 4+ word characters, lower-cased and NFKC-normalised, stop words removed. */
export function tokensOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of normaliseText(text).matchAll(/[\p{L}\p{N}_]+/gu)) {
    if (Array.from(m[0]).length >= 4 && !STOP_WORDS.has(m[0])) out.add(m[0]);
  }
  return out;
}

/** Digit runs, with thousands separators between digits removed first ("12,345" → "12345"). */
export function digitRunsOf(text: string): Set<string> {
  return new Set(text.replace(/(\d),(?=\d{3}\b)/g, '$1').match(/\d+(\.\d+)?/g) ?? []);
}

/**
 * The reply's response read back into values: the value itself, else its text as JSON, then as a
 * Python literal; a text that is neither (or was cut) gives only its whole values.
 */
export function replyLeaves(response: unknown, cut = false): Leaves & { decoded?: unknown } {
  if (typeof response !== 'string') return { ...walkLeaves(response), decoded: response };
  if (!cut) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(response);
    } catch {
      decoded = parsePythonLiteral(response);
    }
    if (decoded !== undefined) return { ...walkLeaves(decoded), decoded };
  }
  // A literal that does not parse was cut somewhere, even if no one said so.
  return wholeLeaves(response, cut || /^\s*[[{]/.test(response));
}

/** The string and number leaves of a value, walked with an explicit stack (no recursion). */
function walkLeaves(value: unknown): Leaves {
  const strings: string[] = [];
  const numbers: number[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') strings.push(v);
    else if (typeof v === 'number') numbers.push(v);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    else if (v !== null && typeof v === 'object') for (const child of Object.values(v).reverse()) stack.push(child);
  }
  return { strings, numbers };
}

/**
 * The reply's evidence values after echo exclusion: tokens and digit runs found in `echoText`
 * (the query and the arguments so far) are dropped, and values left empty are dropped.
 */
export function evidenceValues(response: unknown, echoText: string, cut = false): EvidenceValue[] {
  const echoTokens = tokensOf(echoText);
  const echoDigits = digitRunsOf(echoText);
  const { strings, numbers } = replyLeaves(response, cut);
  const values: EvidenceValue[] = [];
  for (const n of numbers) {
    const digits = String(n);
    if ((digits.match(/\d/g) ?? []).length >= 2 && !echoDigits.has(digits)) values.push({ kind: 'number', digits });
  }
  // Each sentence of a string is a value of its own: a paragraph of prose is many facts, and an
  // answer that uses one of them has used the reply.
  for (const s of strings.flatMap((text) => text.split(/(?<=[.!?])\s+|\n+/))) {
    const tokens = new Set([...tokensOf(s)].filter((t) => !echoTokens.has(t)));
    if (tokens.size > 0) values.push({ kind: 'tokens', tokens });
  }
  return values;
}

/** A value is hit when at least half its tokens are in the answer (a number: found whole). */
export function valueHit(value: EvidenceValue, answerTokens: Set<string>, answerDigits: Set<string>): boolean {
  if (value.kind === 'number') return answerDigits.has(value.digits);
  let present = 0;
  for (const t of value.tokens) if (answerTokens.has(t)) present++;
  return present >= value.tokens.size / 2;
}
