/**
 * Bounding what one record costs before it is tokenized whole. Tokenizing with offsets keeps a few
 * hundred bytes per character (ids, offset pairs, the tokenizer's own buffers), so one record with
 * a 30 MB observation took gigabytes and aborted the run. A record whose text is far longer than
 * the context can hold is first measured by counting the tokens of its turns in small chunks,
 * stopping as soon as the count passes the context, and then either dropped, or (policy
 * `truncate`) its observations are cut by characters to a budget the context could never exceed,
 * so the exact token-based cut in overlong.ts only ever sees text of bounded length.
 */
import type { ToolLlamaConversation } from '../../toolbench/render.js';
import type { OverlongPolicy } from './overlong.js';
import type { TokenizerLike } from './tokenizeExample.js';

/** The marker that ends a cut observation, as ToolBench's own observation cut writes it. */
export const ELLIPSIS = '...';

/**
 * Characters per token no real text averages: prose and JSON run 3-5 with OPT's BPE. A record
 * with more characters than `maxTokens` times this is counted before it is tokenized whole, and
 * its observations together are cut to that many characters, which is still more than the
 * context can hold, so the cut changes nothing the token-based cut would keep.
 */
export const charsPerTokenBound = 32;

/** Characters tokenized at a time while counting. */
const countChunkChars = 1 << 14;

export type LongTurnOutcome =
  | { action: 'as-is' }
  | { action: 'dropped'; tokensEstimate: number }
  | { action: 'precut'; conv: ToolLlamaConversation; cutTurns: number[]; tokensEstimate: number };

interface Count {
  /** Tokens counted before stopping (or all of them). */
  tokens: number;
  /** Characters those tokens came from. */
  chars: number;
  /** Chunk boundaries crossed: each may shift the count by a token either way. */
  chunks: number;
}

/** Counts the tokens of `texts` chunk by chunk, stopping once the count passes `limit`. */
function countTokensUpTo(texts: readonly string[], limit: number, tokenizer: TokenizerLike): Count {
  const count: Count = { tokens: 0, chars: 0, chunks: 0 };
  for (const text of texts) {
    for (let at = 0; at < text.length; ) {
      if (count.tokens > limit + count.chunks) return count;
      let end = Math.min(text.length, at + countChunkChars);
      // Never split a surrogate pair: each half would count as a replacement character.
      if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
      count.tokens += tokenizer.encodeWithOffsets(text.slice(at, end)).ids.length;
      count.chars += end - at;
      count.chunks++;
      at = end;
    }
  }
  return count;
}

/** Whether the count says the text surely has more than `maxTokens` tokens. */
function surelyOver(count: Count, maxTokens: number): boolean {
  return count.tokens > maxTokens + count.chunks;
}

/** The whole text's tokens, extrapolated from the counted part. */
function estimate(count: Count, totalChars: number): number {
  return count.chars === 0 ? 0 : Math.round((count.tokens / count.chars) * totalChars);
}

/** The largest per-observation length C with Σ min(length, C) ≤ budget. */
function waterLevel(lengths: readonly number[], budget: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let used = 0;
  for (let i = 0; i < sorted.length; i++) {
    const level = Math.floor((budget - used) / (sorted.length - i));
    if (sorted[i]! > level) return level;
    used += sorted[i]!;
  }
  return Infinity;
}

/** Decides whether `conv` can be tokenized whole, must be dropped, or needs its observations cut first. */
export function boundLongTurns(
  conv: ToolLlamaConversation,
  maxTokens: number,
  policy: OverlongPolicy,
  tokenizer: TokenizerLike,
): LongTurnOutcome {
  const turns = conv.conversations;
  const budget = maxTokens * charsPerTokenBound;
  const totalChars = turns.reduce((n, t) => n + t.value.length, 0);
  if (totalChars <= budget) return { action: 'as-is' };
  const all = countTokensUpTo(turns.map((t) => t.value), maxTokens, tokenizer);
  // Few, very long tokens: the text is small in tokens, so tokenizing it whole is cheap.
  if (!surelyOver(all, maxTokens)) return { action: 'as-is' };
  const tokensEstimate = estimate(all, totalChars);
  if (policy === 'drop') return { action: 'dropped', tokensEstimate };
  // Only observations may be cut: the other turns must fit on their own.
  const rest = countTokensUpTo(turns.filter((t) => t.from !== 'function').map((t) => t.value), maxTokens, tokenizer);
  if (surelyOver(rest, maxTokens)) return { action: 'dropped', tokensEstimate };
  const observations = turns.flatMap((t, i) => (t.from === 'function' ? [i] : []));
  const level = waterLevel(observations.map((i) => turns[i]!.value.length), budget);
  const cutTurns = observations.filter((i) => turns[i]!.value.length > level);
  if (cutTurns.length === 0) return { action: 'as-is' };
  const conversations = turns.map((t, i) => {
    if (!cutTurns.includes(i)) return { ...t };
    const end = level > 0 && /[\uD800-\uDBFF]/.test(t.value[level - 1]!) ? level - 1 : level;
    return { ...t, value: t.value.slice(0, end) + ELLIPSIS };
  });
  return { action: 'precut', conv: { id: conv.id, conversations }, cutTurns, tokensEstimate };
}
