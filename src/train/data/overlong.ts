/**
 * The policy for examples longer than the model's context (OPT has 2,048 positions; ToolBench
 * system prompts alone run 1,100-1,500 tokens, docs/toolbench-formats.md §c). ToolLLaMA's reference right-truncates,
 * which silently cuts the target off; kiln never does that:
 *
 * - `drop`: leave the example out.
 * - `truncate`: shorten the context, never a target turn, in this order:
 *   1. observations (`Function:` turns): all are capped at one common token budget (the largest
 *      that makes the example fit, but at least `minObservationTokens`), cut text ending in `...`
 *      as ToolBench's own observation cut does;
 *   2. the function list in the system prompt: functions the conversation never calls are removed,
 *      last first; called ones and Finish stay.
 *   If it still does not fit, the example is dropped.
 * A record far past the context is measured and cut by characters first (longTurns.ts); its
 * `tokensBefore` is then an estimate from the part that was counted.
 * Every outcome is counted (OverlongCounts) and reported before training.
 */
import { renderConversation, type LossOn, type ToolLlamaConversation } from '../../toolbench/render.js';
import { findFunctionList, keepFunctions, type FunctionListItem } from './functionListText.js';
import { boundLongTurns, ELLIPSIS } from './longTurns.js';
import {
  encodeForOpt,
  labelTokens,
  type TokenizedExample,
  type TokenizerLike,
  type TokensWithOffsets,
} from './tokenizeExample.js';

export type OverlongPolicy = 'drop' | 'truncate';

export interface FitOptions {
  /** Positions available, BOS included. */
  maxTokens: number;
  policy: OverlongPolicy;
  lossOn: LossOn;
  tokenizer: TokenizerLike;
  /** Observations are not cut below this many tokens before functions are dropped. Default 64. */
  minObservationTokens?: number;
}

/** Every outcome also says the example's length before any cut and its opening (the tokens before its first assistant turn). */
export type FitOutcome = (
  | { action: 'kept'; example: TokenizedExample }
  | {
      action: 'truncated';
      example: TokenizedExample;
      /** Observation turns that were cut. */
      observationsCut: number;
      /** Functions removed from the system prompt. */
      functionsRemoved: number;
      tokensBefore: number;
    }
  | { action: 'dropped'; tokensBefore: number }
) & { lengths: { total: number; opening: number } };

// Each pass re-tokenizes and re-plans from exact counts; a BPE merge at a cut edge can be off by a
// token or two, which the next pass corrects.
const MAX_PASSES = 4;

/** Renders, tokenizes and applies the policy to one conversation. */
export function fitExample(conv: ToolLlamaConversation, options: FitOptions): FitOutcome {
  // A record far longer than the context is measured in chunks first (longTurns.ts), and its
  // observations cut by characters, so it is never tokenized whole.
  const bounded = boundLongTurns(conv, options.maxTokens, options.policy, options.tokenizer);
  if (bounded.action === 'dropped') {
    return { action: 'dropped', tokensBefore: bounded.tokensEstimate, lengths: { total: bounded.tokensEstimate, opening: bounded.tokensEstimate } };
  }
  const precut = bounded.action === 'precut' ? bounded : null;
  let current = { conv: precut?.conv ?? conv, ...encodeConversation(precut?.conv ?? conv, options) };
  const tokensBefore = precut?.tokensEstimate ?? current.encoded.ids.length;
  // Only observations are precut, and they follow the first assistant turn: the opening is exact.
  const firstAssistant = conv.conversations.findIndex((t) => t.from === 'assistant');
  const lengths = {
    total: tokensBefore,
    opening: firstAssistant < 0 ? tokensBefore : firstTokenAtOrAfter(current.encoded.offsets, current.valueSpans[firstAssistant]![0]),
  };
  if (precut === null && tokensBefore <= options.maxTokens) {
    return { action: 'kept', example: labelTokens(current.encoded, current.lossSpans), lengths };
  }
  if (options.policy === 'drop') return { action: 'dropped', tokensBefore, lengths };

  const minObs = options.minObservationTokens ?? 64;
  const markerTokens = Math.max(1, options.tokenizer.encodeWithOffsets(ELLIPSIS).ids.length);
  let observationsCut = new Set<number>(precut?.cutTurns ?? []);
  let functionsRemoved = 0;
  for (let pass = 0; ; pass++) {
    const excess = current.encoded.ids.length - options.maxTokens;
    if (excess <= 0) {
      return {
        action: 'truncated',
        example: labelTokens(current.encoded, current.lossSpans),
        observationsCut: observationsCut.size,
        functionsRemoved,
        tokensBefore,
        lengths,
      };
    }
    if (pass === MAX_PASSES) break;
    const obs = capObservations(current, excess, minObs, markerTokens);
    let next = obs.conv;
    observationsCut = new Set([...observationsCut, ...obs.cut]);
    if (obs.removed < excess) {
      const fns = dropUnusedFunctions(next, current, excess - obs.removed);
      next = fns.conv;
      functionsRemoved += fns.removedCount;
    }
    if (next === current.conv) break; // nothing left to shorten
    current = { conv: next, ...encodeConversation(next, options) };
  }
  return { action: 'dropped', tokensBefore, lengths };
}

interface Encoded {
  conv: ToolLlamaConversation;
  encoded: TokensWithOffsets;
  lossSpans: [number, number][];
  valueSpans: [number, number][];
}

function encodeConversation(conv: ToolLlamaConversation, options: FitOptions): Omit<Encoded, 'conv'> {
  const rendered = renderConversation(conv, { lossOn: options.lossOn });
  const encoded = encodeForOpt(rendered.text, options.tokenizer);
  return { encoded, lossSpans: rendered.lossSpans, valueSpans: rendered.valueSpans };
}

/** Index of the first token starting at or after `pos` (offsets ascend). */
function firstTokenAtOrAfter(offsets: readonly [number, number][], pos: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]![0] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Caps every observation at K tokens plus the `...` marker (`markerTokens` long), K the largest
 * budget ≥ minObs that removes `excess` tokens. Returns the conversation unchanged when no cut
 * helps. An observation cut in an earlier pass is cut again only below its current K.
 */
function capObservations(
  cur: Encoded,
  excess: number,
  minObs: number,
  markerTokens: number,
): { conv: ToolLlamaConversation; cut: number[]; removed: number } {
  const { offsets } = cur.encoded;
  const turns = cur.conv.conversations;
  const obs = turns.flatMap((t, i) => {
    if (t.from !== 'function') return [];
    const [start, end] = cur.valueSpans[i]!;
    const first = firstTokenAtOrAfter(offsets, start);
    return [{ turn: i, first, count: firstTokenAtOrAfter(offsets, end) - first }];
  });
  const removedAt = (k: number): number => obs.reduce((sum, o) => sum + Math.max(0, o.count - k - markerTokens), 0);
  const longest = obs.reduce((m, o) => Math.max(m, o.count), 0);
  if (longest <= minObs + markerTokens) return { conv: cur.conv, cut: [], removed: 0 };
  // removedAt falls as k grows: binary search for the largest k in [minObs, longest) that suffices.
  let lo = minObs;
  let hi = longest - 1;
  if (removedAt(lo) >= excess) {
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (removedAt(mid) >= excess) lo = mid;
      else hi = mid - 1;
    }
  }
  const k = lo;
  const conversations = turns.map((t) => ({ ...t }));
  const cut: number[] = [];
  for (const o of obs) {
    if (o.count <= k + markerTokens) continue;
    const cutAt = offsets[o.first + k]![0] - cur.valueSpans[o.turn]![0];
    conversations[o.turn]!.value = turns[o.turn]!.value.slice(0, cutAt) + ELLIPSIS;
    cut.push(o.turn);
  }
  return { conv: { id: cur.conv.id, conversations }, cut, removed: removedAt(k) };
}

/** Function names the conversation calls (`Action: <name>` lines of assistant turns). */
function calledNames(conv: ToolLlamaConversation): Set<string> {
  const names = new Set<string>(['Finish']);
  for (const t of conv.conversations) {
    if (t.from !== 'assistant') continue;
    for (const m of t.value.matchAll(/(?:^|\n)Action: ([^\n]*)/g)) names.add(m[1]!.trim());
  }
  return names;
}

/** Removes uncalled functions from the first system turn, last first, until `needed` tokens go. */
function dropUnusedFunctions(
  conv: ToolLlamaConversation,
  cur: Encoded,
  needed: number,
): { conv: ToolLlamaConversation; removedCount: number } {
  const sysIndex = conv.conversations.findIndex((t) => t.from === 'system');
  if (sysIndex < 0) return { conv, removedCount: 0 };
  const system = conv.conversations[sysIndex]!.value;
  const list = findFunctionList(system);
  if (list === null) return { conv, removedCount: 0 };
  const called = calledNames(conv);
  // Token counts come from the encoding of `cur`, whose system turn is the same text as here
  // (only observations changed since), so the value offset maps item positions to tokens.
  const base = cur.valueSpans[sysIndex]![0];
  const { offsets } = cur.encoded;
  const tokensOf = (item: FunctionListItem): number =>
    firstTokenAtOrAfter(offsets, base + item.end) - firstTokenAtOrAfter(offsets, base + item.start);
  const removed = new Set<FunctionListItem>();
  let gained = 0;
  for (let i = list.items.length - 1; i >= 0 && gained < needed; i--) {
    const item = list.items[i]!;
    if (called.has(item.name)) continue;
    removed.add(item);
    gained += tokensOf(item) + 1; // +1 for the ", " separator
  }
  if (removed.size === 0) return { conv, removedCount: 0 };
  const conversations = conv.conversations.map((t) => ({ ...t }));
  conversations[sysIndex]!.value = keepFunctions(system, list, list.items.filter((item) => !removed.has(item)));
  return { conv: { id: conv.id, conversations }, removedCount: removed.size };
}

/** What the policy did over a data set, for the report before training. */
export interface OverlongCounts {
  kept: number;
  truncated: number;
  /** Truncated examples whose observations were cut / whose function list was shortened. */
  withObservationsCut: number;
  withFunctionsRemoved: number;
  functionsRemoved: number;
  dropped: number;
  /** Tokens of the dropped examples, and tokens removed from the truncated ones. */
  tokensDropped: number;
  tokensTruncated: number;
}

export function emptyOverlongCounts(): OverlongCounts {
  return {
    kept: 0,
    truncated: 0,
    withObservationsCut: 0,
    withFunctionsRemoved: 0,
    functionsRemoved: 0,
    dropped: 0,
    tokensDropped: 0,
    tokensTruncated: 0,
  };
}

export function countOutcome(counts: OverlongCounts, outcome: FitOutcome): void {
  switch (outcome.action) {
    case 'kept':
      counts.kept++;
      return;
    case 'dropped':
      counts.dropped++;
      counts.tokensDropped += outcome.tokensBefore;
      return;
    case 'truncated':
      counts.truncated++;
      if (outcome.observationsCut > 0) counts.withObservationsCut++;
      if (outcome.functionsRemoved > 0) counts.withFunctionsRemoved++;
      counts.functionsRemoved += outcome.functionsRemoved;
      counts.tokensTruncated += outcome.tokensBefore - outcome.example.inputIds.length;
  }
}
