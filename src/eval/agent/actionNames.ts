/**
 * Constrained decoding of the Action line (an opt-in of the kiln policy, `--constrain-actions`):
 * from `Action:` to the end of its line, only tokens that keep the line a prefix of
 * ` <name>\n`, for a function the request offers (Finish included), may be chosen. Everything else
 * the model writes, its Thought and its Action Input, stays free.
 *
 * This is guided decoding as serving stacks offer it (a grammar or a choice of strings), applied
 * to the one field whose values are known: the model still chooses which function to call, but
 * it can no longer call one that does not exist. ToolBench's runs decode freely, so a report
 * made with it says so beside the model's name.
 */

/** The decoded text of each token id, computed once per tokenizer. */
export interface TokenPieces {
  readonly pieces: readonly string[];
}

export function tokenPieces(tokenizer: { decode(ids: number[]): string; readonly vocabSize: number }): TokenPieces {
  return { pieces: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.decode([id])) };
}

// The line the constraint covers starts after this text, at the start of the turn or of a line.
const ACTION_LINE = /(?:^|\n)Action:/g;

/**
 * The tokens allowed next, given the turn's text so far, or null when the text is not inside an
 * Action line (or when no token could continue it, as with a name the vocabulary cannot spell:
 * then the model is left free rather than stopped).
 */
export function allowedActionTokens(text: string, names: readonly string[], vocabulary: TokenPieces): number[] | null {
  let lineStart = -1;
  for (const m of text.matchAll(ACTION_LINE)) lineStart = m.index + m[0].length;
  if (lineStart < 0) return null;
  const written = text.slice(lineStart);
  if (written.includes('\n')) return null;
  const targets = names.map((name) => ` ${name}\n`).filter((t) => t.startsWith(written));
  if (targets.length === 0) return null;
  const allowed: number[] = [];
  vocabulary.pieces.forEach((piece, id) => {
    if (piece === '') return;
    const next = written + piece;
    if (targets.some((t) => t.startsWith(next) || next.startsWith(t))) allowed.push(id);
  });
  return allowed.length > 0 ? allowed : null;
}
