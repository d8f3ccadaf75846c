/**
 * Batching: a seeded, deterministic plan of which examples go in which batch, and collation of a
 * planned batch into padded [B, T] typed arrays.
 *
 * Length bucketing: examples are shuffled, then sorted by length inside windows of
 * `batchSize × windowBatches` examples and cut into batches, so a batch holds similar lengths
 * (little padding) while batch contents still vary with the seed; the batch order is shuffled
 * last. The plan depends only on (lengths, options); to resume at batch k, plan again with the
 * same seed and start at k.
 *
 * Packing: several examples share one row of up to `maxTokens` tokens (best-fit decreasing within
 * each window). Each example keeps its own BOS and position ids from 0, and `segmentIds` numbers
 * the examples of a row from 1 (0 = padding): attention is causal AND same-segment, i.e. a
 * block-diagonal mask, so examples never see each other. A packed example's first label is its
 * BOS, which is -100, so no loss crosses an example boundary either.
 */
import { SeededRandom } from '../../model/random.js';
import { IGNORE_INDEX, type TokenizedExample } from './tokenizeExample.js';

export interface BatchPlanOptions {
  /** Rows per batch. */
  batchSize: number;
  seed: number;
  /** Longest row: the model's positions. Longer examples are an error (apply the overlong policy first). */
  maxTokens: number;
  packing?: boolean;
  /** Batches per sorting window. Default 64. */
  windowBatches?: number;
}

/** One planned batch: rows of example indices (one index per row unless packing). */
export interface PlannedBatch {
  rows: number[][];
}

export function planBatches(lengths: readonly number[], options: BatchPlanOptions): PlannedBatch[] {
  const { batchSize, maxTokens } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  lengths.forEach((len, i) => {
    if (len > maxTokens) throw new Error(`example ${i} has ${len} tokens, more than maxTokens ${maxTokens}`);
  });
  const rng = new SeededRandom(options.seed);
  const order = rng.shuffle(lengths.map((_, i) => i));
  const windowSize = batchSize * (options.windowBatches ?? 64);
  const batches: PlannedBatch[] = [];
  for (let w = 0; w < order.length; w += windowSize) {
    const window = order.slice(w, w + windowSize);
    // Array.prototype.sort is stable, so equal lengths keep their shuffled order.
    const rows = options.packing ? packRows(window, lengths, maxTokens) : window.map((i) => [i]);
    rows.sort((a, b) => rowLength(a, lengths) - rowLength(b, lengths));
    for (let r = 0; r < rows.length; r += batchSize) batches.push({ rows: rows.slice(r, r + batchSize) });
  }
  return rng.shuffle(batches);
}

function rowLength(row: readonly number[], lengths: readonly number[]): number {
  let n = 0;
  for (const i of row) n += lengths[i]!;
  return n;
}

/**
 * Best-fit decreasing: longest example first, each into the row with the least room that still
 * fits it. Rows are kept in lists by remaining room, so finding one is a scan over room sizes.
 */
function packRows(indices: readonly number[], lengths: readonly number[], maxTokens: number): number[][] {
  const sorted = [...indices].sort((a, b) => lengths[b]! - lengths[a]!);
  const rows: number[][] = [];
  const rowsByRoom: number[][] = Array.from({ length: maxTokens + 1 }, () => []);
  const roomOf: number[] = [];
  for (const i of sorted) {
    const len = lengths[i]!;
    let room = len;
    while (room <= maxTokens && rowsByRoom[room]!.length === 0) room++;
    let row: number;
    if (room <= maxTokens) {
      row = rowsByRoom[room]!.pop()!;
    } else {
      row = rows.length;
      rows.push([]);
      roomOf.push(maxTokens);
    }
    rows[row]!.push(i);
    roomOf[row] = roomOf[row]! - len;
    rowsByRoom[roomOf[row]!]!.push(row);
  }
  return rows;
}

/** A collated batch, every array row-major [B, T]. */
export interface Batch {
  B: number;
  T: number;
  inputIds: Int32Array;
  /** -100 on padding and non-target tokens. */
  labels: Int32Array;
  /** 1 on real tokens, 0 on padding. */
  attentionMask: Uint8Array;
  /** Packing only: position of each token within its own example (0 on padding). */
  positionIds?: Int32Array;
  /** Packing only: 1-based example number within the row, 0 on padding. */
  segmentIds?: Int32Array;
  examples: number;
  /** Real (non-padding) tokens and target tokens in the batch. */
  tokens: number;
  targets: number;
}

export interface CollateOptions {
  padId: number;
  /** T is rounded up to a multiple of this (1 = the batch's longest row). Default 8. */
  padMultiple?: number;
  /** T never exceeds this, even after rounding. */
  maxTokens?: number;
  packing?: boolean;
}

export function collateBatch(rows: readonly (readonly TokenizedExample[])[], options: CollateOptions): Batch {
  const B = rows.length;
  if (B === 0) throw new Error('collateBatch: empty batch');
  const rowLengths = rows.map((row) => row.reduce((n, ex) => n + ex.inputIds.length, 0));
  const longest = Math.max(...rowLengths);
  const multiple = options.padMultiple ?? 8;
  let T = Math.ceil(longest / multiple) * multiple;
  if (options.maxTokens !== undefined) T = Math.max(longest, Math.min(T, options.maxTokens));
  const inputIds = new Int32Array(B * T).fill(options.padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const attentionMask = new Uint8Array(B * T);
  const positionIds = options.packing ? new Int32Array(B * T) : undefined;
  const segmentIds = options.packing ? new Int32Array(B * T) : undefined;
  let examples = 0;
  let targets = 0;
  rows.forEach((row, b) => {
    if (!options.packing && row.length !== 1) {
      throw new Error(`collateBatch: row ${b} holds ${row.length} examples without packing`);
    }
    let t = b * T;
    row.forEach((ex, k) => {
      const n = ex.inputIds.length;
      inputIds.set(ex.inputIds, t);
      labels.set(ex.labels, t);
      attentionMask.fill(1, t, t + n);
      for (let p = 0; p < n; p++) {
        if (positionIds) positionIds[t + p] = p;
        if (segmentIds) segmentIds[t + p] = k + 1;
        if (ex.labels[p] !== IGNORE_INDEX) targets++;
      }
      t += n;
      examples++;
    });
  });
  const tokens = rowLengths.reduce((a, b) => a + b, 0);
  return { B, T, inputIds, labels, attentionMask, positionIds, segmentIds, examples, tokens, targets };
}
