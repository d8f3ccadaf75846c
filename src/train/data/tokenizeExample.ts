/**
 * Rendered text + character loss spans → token ids and labels.
 *
 * Labels follow the Hugging Face convention: `labels[i] = inputIds[i]` when token i is a target
 * and -100 otherwise; the loss shifts them (position i-1 predicts token i).
 *
 * Target rule: token i is a target iff its character range `[start, end)` overlaps a loss span
 * (a zero-width token at p counts as `[p, p+1)`). A token that straddles a span edge is therefore
 * a target: better to learn one token of context than to miss one of the answer.
 */
import { EOS_TEXT } from '../../toolbench/render.js';

/**
 * What the data pipeline needs from a tokenizer (src/model/tokenizer/tokenizer.ts implements it).
 * `encodeWithOffsets` returns the plain encoding of the text, with NO special tokens added, and
 * for each id its `[start, end)` character range in the text.
 */
export interface TokenizerLike {
  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] };
  bosId: number;
  eosId: number;
  padId: number;
}

export interface TokenizedExample {
  inputIds: Int32Array;
  /** -100 where the token is not a target. */
  labels: Int32Array;
}

export const IGNORE_INDEX = -100;

export interface TokensWithOffsets {
  ids: number[];
  offsets: [number, number][];
}

/**
 * Encodes `text` as OPT expects: BOS first (OPT's tokenizer prepends `</s>`, id 2), and every
 * literal `</s>` in the text becomes the EOS id. The text is split on `</s>` and the pieces are
 * encoded separately, so this does not depend on the tokenizer's special-token handling.
 */
export function encodeForOpt(text: string, tokenizer: TokenizerLike): TokensWithOffsets {
  const ids: number[] = [tokenizer.bosId];
  const offsets: [number, number][] = [[0, 0]];
  let pos = 0;
  const pieces = text.split(EOS_TEXT);
  pieces.forEach((piece, k) => {
    if (piece !== '') {
      const enc = tokenizer.encodeWithOffsets(piece);
      if (enc.ids.length !== enc.offsets.length) {
        throw new Error(`tokenizer returned ${enc.ids.length} ids but ${enc.offsets.length} offsets`);
      }
      for (let i = 0; i < enc.ids.length; i++) {
        const id = enc.ids[i]!;
        if (id === tokenizer.eosId || id === tokenizer.bosId) {
          throw new Error(
            `tokenizer added special token ${id} inside plain text; encodeWithOffsets must not add BOS/EOS`,
          );
        }
        ids.push(id);
        offsets.push([enc.offsets[i]![0] + pos, enc.offsets[i]![1] + pos]);
      }
      pos += piece.length;
    }
    if (k < pieces.length - 1) {
      ids.push(tokenizer.eosId);
      offsets.push([pos, pos + EOS_TEXT.length]);
      pos += EOS_TEXT.length;
    }
  });
  return { ids, offsets };
}

/** Labels for encoded text under the overlap rule above. `lossSpans` must be sorted and disjoint. */
export function labelTokens(encoded: TokensWithOffsets, lossSpans: readonly [number, number][]): TokenizedExample {
  const n = encoded.ids.length;
  const inputIds = Int32Array.from(encoded.ids);
  const labels = new Int32Array(n).fill(IGNORE_INDEX);
  // Offsets ascend with i, so one pass with a span cursor suffices.
  let s = 0;
  // i starts at 1: BOS is never a target, nothing in the text stands for it.
  for (let i = 1; i < n; i++) {
    const [start, rawEnd] = encoded.offsets[i]!;
    const end = Math.max(rawEnd, start + 1);
    while (s < lossSpans.length && lossSpans[s]![1] <= start) s++;
    if (s < lossSpans.length && lossSpans[s]![0] < end) labels[i] = inputIds[i]!;
  }
  return { inputIds, labels };
}

/** `encodeForOpt` then `labelTokens`. */
export function tokenizeExample(
  text: string,
  lossSpans: readonly [number, number][],
  tokenizer: TokenizerLike,
): TokenizedExample {
  return labelTokens(encodeForOpt(text, tokenizer), lossSpans);
}

/** How many tokens are targets. */
export function countTargets(example: TokenizedExample): number {
  let n = 0;
  for (const label of example.labels) if (label !== IGNORE_INDEX) n++;
  return n;
}
