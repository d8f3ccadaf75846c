/**
 * Constrained decoding of the Action line (an opt-in of the kiln policy, `--constrain-actions`):
 * from `Action:` to the end of its line, only tokens that keep the line a prefix of
 * ` <name>\n`, for a function the request offers (Finish included), may be chosen; the next
 * line must then begin `Action Input:`, and the input must be a JSON object of that function's
 * parameters, an enum's values among those it lists (actionInputGrammar.ts). Everything else the
 * model writes, its Thought and the other values of the input, stays free.
 *
 * This is guided decoding as serving stacks offer it (a grammar or a choice of strings), applied
 * to the fields whose values are known: the model still chooses which function to call and what
 * to pass it, but it can no longer call one that does not exist or name a parameter it does not
 * take. ToolBench's runs decode freely, so a report made with it says so beside the model's name.
 */
import { allowedInputTokens, validInputPrefix, type InputSchema } from './actionInputGrammar.js';

/**
 * The decoded text of each token id, computed once per tokenizer, with the indexes that keep a
 * step's check off the whole vocabulary: a Llama 3 vocabulary has 128k pieces, and the check runs
 * for every token of every sequence inside the constrained span.
 */
export interface TokenPieces {
  readonly pieces: readonly string[];
  /**
   * Ids by their piece's first character, then by its first two characters (the whole piece when it
   * has one); empty pieces are never allowed, so left out.
   */
  readonly byFirstTwo: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  /** Ids, ascending, whose piece can sit inside a JSON string as it is: no quote, backslash or control character. */
  readonly plain: readonly number[];
  /** The other ids, ascending. */
  readonly structural: readonly number[];
}

export function tokenPieces(tokenizer: { decode(ids: number[]): string; readonly vocabSize: number }): TokenPieces {
  return indexPieces(Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.decode([id])));
}

export function indexPieces(pieces: readonly string[]): TokenPieces {
  const byFirstTwo = new Map<string, Map<string, number[]>>();
  const plain: number[] = [];
  const structural: number[] = [];
  pieces.forEach((piece, id) => {
    if (piece === '') return;
    const second = byFirstTwo.get(piece[0]!) ?? new Map<string, number[]>();
    byFirstTwo.set(piece[0]!, second);
    const two = piece.slice(0, 2);
    const pair = second.get(two);
    if (pair) pair.push(id);
    else second.set(two, [id]);
    (/["\\\u0000-\u001f]/.test(piece) ? structural : plain).push(id);
  });
  return { pieces, byFirstTwo, plain, structural };
}

// The line the constraint covers starts after this text, at the start of the turn or of a line.
const ACTION_LINE = /(?:^|\n)Action:/g;

// What the line after the Action line begins with, in ToolBench's ReAct format: its parser needs
// the space (src/eval/agent/react.ts), and a model may leave it out (`Action Input:{`).
const INPUT_LABEL = 'Action Input: ';

/**
 * The tokens allowed next, given the turn's text so far, or null when the text is not inside an
 * Action line, the label of the line after it or a key of the input's JSON object (or when no
 * token could continue it, as with a name the vocabulary cannot spell: then the model is left free
 * rather than stopped).
 *
 * The label is held too: a model made to write a name it would not have chosen tends to start
 * another `Action:` line instead of its input, again and again until the context is full.
 */
export function allowedActionTokens(text: string, offered: readonly OfferedFunction[], vocabulary: TokenPieces): readonly number[] | null {
  let lineStart = -1;
  for (const m of text.matchAll(ACTION_LINE)) lineStart = m.index + m[0].length;
  if (lineStart < 0) return null;
  const written = text.slice(lineStart);
  const lineEnd = written.indexOf('\n');
  const label = lineEnd < 0 ? null : written.slice(lineEnd + 1);
  if (label !== null && label.length >= INPUT_LABEL.length) {
    const called = offered.find((f) => ` ${f.name}` === written.slice(0, lineEnd));
    if (called === undefined || !label.startsWith(INPUT_LABEL)) return null;
    return allowedInputTokens(label.slice(INPUT_LABEL.length), called, vocabulary);
  }
  // On the name's line or the label the next character is known, so only its bucket is read; a
  // piece may finish the name or the label and run on (`o\nAction`, ` {"`), into what must hold too.
  const targets = label === null ? offered.map((f) => ` ${f.name}\n`).filter((t) => t.startsWith(written)) : [INPUT_LABEL];
  const at = label === null ? written.length : label.length;
  const next = new Set(targets.filter((t) => t.length > at).map((t) => t[at]!));
  const held: number[] = [];
  for (const c of next) {
    for (const [start, ids] of vocabulary.byFirstTwo.get(c) ?? []) {
      if (staysOnCourse(written + start, offered)) held.push(...ids.filter((id) => staysOnCourse(written + vocabulary.pieces[id]!, offered)));
    }
  }
  held.sort((a, b) => a - b);
  return held.length > 0 ? held : null;
}

/** Whether the text after `Action:` is still a prefix of ` <offered name>\nAction Input: <input on its grammar>`. */
function staysOnCourse(written: string, offered: readonly OfferedFunction[]): boolean {
  const lineEnd = written.indexOf('\n');
  if (lineEnd < 0) return offered.some((f) => ` ${f.name}`.startsWith(written));
  const called = offered.find((f) => ` ${f.name}` === written.slice(0, lineEnd));
  if (called === undefined) return false;
  const label = written.slice(lineEnd + 1);
  if (label.length <= INPUT_LABEL.length) return INPUT_LABEL.startsWith(label);
  return label.startsWith(INPUT_LABEL) && validInputPrefix(label.slice(INPUT_LABEL.length), called);
}

/** A function the request offers: its name, its parameters' keys and their enums. */
export interface OfferedFunction extends InputSchema {
  name: string;
}
