/**
 * The differentiable ops: each runs its forward kernels and, when a tape is recording, records
 * what its backward (gradients.ts, same names) needs. Without a tape nothing is retained, so an
 * inference forward frees each activation as soon as the model code releases it.
 *
 * Every op returns a new tensor holding one reference for the caller. Inputs are never consumed:
 * the caller releases its own references when done.
 */
import type { Gpu } from '../kernels/runtime/device.js';
import { attentionForward } from '../kernels/attention/attention.js';
import { crossEntropy } from '../kernels/crossEntropy.js';
import { add as addKernel, dropout as dropoutKernel, scale } from '../kernels/elementwise.js';
import { embeddingForward } from '../kernels/embedding.js';
import { layerNormForward } from '../kernels/norms/layerNorm.js';
import { matmul } from '../kernels/matmul/matmul.js';
import { sum } from '../kernels/reductions.js';
import type { Tape } from './tape.js';
import { Tensor } from './tensor.js';

/** The device, and the tape to record on (null: inference, nothing recorded). */
export interface OpContext {
  gpu: Gpu;
  tape: Tape | null;
}

/** y = x·Wᵀ + b, optionally through relu (fused into the matmul's epilogue). W is [out, in] as in torch.nn.Linear. */
export function linear(ctx: OpContext, x: Tensor, w: Tensor, b: Tensor | null, relu = false): Tensor {
  const [N, K] = w.shape as [number, number];
  if (x.shape[x.shape.length - 1] !== K) throw new Error(`kiln: linear input [${x.shape}] does not fit weight [${w.shape}]`);
  const M = x.size / K;
  if (w.dtype === 'f16' && ctx.tape) throw new Error('kiln: f16 weights are for inference only; load the model in f32 to train');
  const y = Tensor.empty(ctx.gpu, [...x.shape.slice(0, -1), N], 'linear');
  matmul(ctx.gpu, { a: x.buffer, b: w.buffer, c: y.buffer, M, N, K, layout: 'nt', bias: b?.buffer, relu, bDtype: w.dtype === 'f16' ? 'f16' : 'f32' });
  // relu's backward needs y (y > 0 exactly where the pre-activation was); without relu only x and W.
  ctx.tape?.record({ op: 'linear', x, w, b, y, relu }, relu ? [x, w, y] : [x, w]);
  return y;
}

/**
 * y[i] = table[ids[i]] (+ base[i]). `skipId` is a row that receives no gradient
 * (nn.Embedding's padding_idx); `base` lets the positions be added onto the token embeddings.
 */
export function embedding(ctx: OpContext, ids: Uint32Array, table: Tensor, opts: { base?: Tensor; skipId?: number } = {}): Tensor {
  const D = table.shape[1]!;
  const N = ids.length;
  const y = Tensor.empty(ctx.gpu, [N, D], 'embedding');
  const idsBuffer = ctx.gpu.upload(ids, 'embedding-ids');
  if (opts.base) {
    if (opts.base.size !== N * D) throw new Error(`kiln: embedding base [${opts.base.shape}] is not [${N}, ${D}]`);
    ctx.gpu.copy(opts.base.buffer, 0, y.buffer, 0, N * D * 4);
  }
  embeddingForward(ctx.gpu, { ids: idsBuffer, table: table.buffer, out: y.buffer, N, D, accumulate: opts.base !== undefined });
  ctx.gpu.release(idsBuffer);
  ctx.tape?.record({ op: 'embedding', ids, table, base: opts.base ?? null, y, skipId: opts.skipId }, []);
  return y;
}

/** Layer norm over the last dimension; gamma/beta null when the norm has no affine parameters. */
export function layerNorm(ctx: OpContext, x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps = 1e-5): Tensor {
  const cols = x.shape[x.shape.length - 1]!;
  const rows = x.size / cols;
  const y = Tensor.empty(ctx.gpu, x.shape, 'layer-norm');
  const mean = Tensor.empty(ctx.gpu, [rows], 'ln-mean');
  const rstd = Tensor.empty(ctx.gpu, [rows], 'ln-rstd');
  layerNormForward(ctx.gpu, { x: x.buffer, gamma: gamma?.buffer, beta: beta?.buffer, y: y.buffer, mean: mean.buffer, rstd: rstd.buffer, rows, cols, eps });
  const saved = gamma ? [x, gamma, mean, rstd] : [x, mean, rstd];
  ctx.tape?.record({ op: 'layerNorm', x, gamma, beta, mean, rstd, y }, saved);
  mean.release();
  rstd.release();
  return y;
}

export interface AttentionShape {
  B: number;
  NH: number;
  HS: number;
  /** Query rows per sequence. */
  Tq: number;
  /** Keys visible: the cache's filled rows plus the new ones (= Tq without a cache). */
  Tk: number;
  /** Rows allocated per sequence in k and v (a KV cache's capacity); default Tk. */
  kvRows?: number;
  /** u32 [B, kvRows]: 1 real, 0 padding; null when nothing is padded. */
  mask: Tensor | null;
  /** u32 [B, Tk]: attend only within the same segment (packed sequences). */
  segmentIds: Tensor | null;
  /** Every query row sees a key (see AttentionInputs in src/kernels/attention/masking.ts). */
  everyRowSeesAKey?: boolean;
  scale: number;
}

/**
 * Causal multi-head attention on the projections' layout ([B, T, NH·HS], no transposes).
 * q is left unscaled and `scale` (head_dim^-0.5) applied to the scores: HF scales q after its
 * bias, which is the same product up to f32 rounding.
 */
export function attention(ctx: OpContext, q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): Tensor {
  const { B, NH, HS, Tq, Tk } = s;
  const y = Tensor.empty(ctx.gpu, q.shape, 'attention');
  const recording = ctx.tape !== null;
  if (recording && (Tq !== Tk || (s.kvRows ?? Tk) !== Tk)) {
    throw new Error('kiln: attention with a KV cache is inference-only (no tape)');
  }
  const lse = recording ? Tensor.empty(ctx.gpu, [B, NH, Tq], 'attention-lse') : null;
  attentionForward(ctx.gpu, {
    q: q.buffer,
    k: k.buffer,
    v: v.buffer,
    out: y.buffer,
    lse: lse?.buffer,
    B,
    NH,
    HS,
    Tq,
    Tk,
    kvRows: s.kvRows,
    mask: s.mask?.buffer,
    segmentIds: s.segmentIds?.buffer,
    everyRowSeesAKey: s.everyRowSeesAKey,
    scale: s.scale,
    kvDtype: k.dtype === 'f16' ? 'f16' : 'f32',
  });
  if (ctx.tape && lse) {
    const saved = [q, k, v, y, lse];
    if (s.mask) saved.push(s.mask);
    if (s.segmentIds) saved.push(s.segmentIds);
    ctx.tape.record({ op: 'attention', q, k, v, y, lse, mask: s.mask, segmentIds: s.segmentIds, everyRowSeesAKey: s.everyRowSeesAKey, B, NH, HS, T: Tq, scale: s.scale }, saved);
    lse.release();
  }
  return y;
}

/** y = a + b (the residual add). */
export function add(ctx: OpContext, a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new Error(`kiln: add of [${a.shape}] and [${b.shape}]`);
  const y = Tensor.empty(ctx.gpu, a.shape, 'add');
  addKernel(ctx.gpu, a.buffer, b.buffer, y.buffer, a.size);
  ctx.tape?.record({ op: 'add', a, b, y }, []);
  return y;
}

/**
 * Inverted dropout with a counter-based mask: element i's keep decision is a hash of
 * (seed, offset + i), so backward recomputes the mask instead of storing it.
 */
export function dropout(ctx: OpContext, x: Tensor, p: number, seed: number, offset: number): Tensor {
  const y = Tensor.empty(ctx.gpu, x.shape, 'dropout');
  dropoutKernel(ctx.gpu, { x: x.buffer, out: y.buffer, n: x.size, p, seed, offset });
  ctx.tape?.record({ op: 'dropout', x, y, p, seed, offset }, []);
  return y;
}

/**
 * Rows of logits per chunk: a chunk's [rows, V] f32 block must fit one storage binding, and a
 * bounded chunk keeps the LM head's scratch memory independent of the batch.
 */
export function lmHeadChunkRows(gpu: Gpu, V: number): number {
  const bytes = Math.min(gpu.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024);
  return Math.max(1, Math.floor(bytes / (V * 4)));
}

/**
 * The rows of `targets` that have a target (0 <= t < V), or null when that is (nearly) every row.
 * SFT masks most positions (prompts, tool responses, padding: the demo's batches train 14-23% of
 * their tokens), and an ignored row's logits change neither the loss nor any gradient. The list is
 * padded to a multiple of 4 with an ignored row, which keeps the head's matmuls on their vec4
 * kernels and transposes (a row count that is not a multiple of 4 takes the scalar ones).
 */
function targetRows(targets: Int32Array, V: number): Int32Array | null {
  const has = (t: number) => t >= 0 && t < V;
  const rows: number[] = [];
  targets.forEach((t, i) => {
    if (has(t)) rows.push(i);
  });
  const ignored = targets.findIndex((t) => !has(t));
  if (rows.length === 0 || ignored < 0) return null;
  while (rows.length % 4 !== 0) rows.push(ignored);
  return rows.length < targets.length ? Int32Array.from(rows) : null;
}

/**
 * The tied LM head and the loss in one op: loss = Σ_rows CE(h·tableᵀ, targets) / denominator,
 * with targets -100 ignored. The logits exist one chunk at a time; when `logits` ([rows, V]) is
 * given, each chunk is also copied there for the caller. Otherwise only the rows with a target go
 * through the head, gathered into a compact copy of h: the same sums without the ignored rows' zeros.
 */
export function lmHeadCrossEntropy(
  ctx: OpContext,
  h: Tensor,
  table: Tensor,
  targets: Int32Array,
  denominator: number,
  logits: Tensor | null = null,
): Tensor {
  const gpu = ctx.gpu;
  const [V, E] = table.shape as [number, number];
  if (targets.length !== h.size / E) throw new Error(`kiln: ${targets.length} targets for ${h.size / E} rows`);
  const kept = logits ? null : targetRows(targets, V);
  let source = h;
  if (kept) {
    source = Tensor.empty(gpu, [kept.length, E], 'lm-head-rows');
    const ids = gpu.upload(kept, 'lm-head-row-ids');
    embeddingForward(gpu, { ids, table: h.buffer, out: source.buffer, N: kept.length, D: E });
    gpu.release(ids);
  }
  const rows = kept ? kept.length : targets.length;
  const chunkRows = lmHeadChunkRows(gpu, V);
  const chunks = Math.ceil(rows / chunkRows);
  const targetsT = Tensor.fromArray(gpu, kept ? kept.map((i) => targets[i]) : targets, [rows], 'targets');
  const chunk = gpu.alloc(Math.min(chunkRows, rows) * V * 4, 'logits-chunk');
  const lossRows = gpu.alloc(Math.min(chunkRows, rows) * 4, 'loss-rows');
  const partial = gpu.alloc(chunks * 4, 'loss-partial');
  for (let c = 0; c < chunks; c++) {
    const r0 = c * chunkRows;
    const n = Math.min(chunkRows, rows - r0);
    matmul(gpu, { a: source.buffer, b: table.buffer, c: chunk, M: n, N: V, K: E, layout: 'nt', offsetA: r0 * E });
    if (logits) gpu.copy(chunk, 0, logits.buffer, r0 * V * 4, n * V * 4);
    crossEntropy(gpu, { logits: chunk, targets: targetsT.buffer, loss: lossRows, rows: n, V, targetOffset: r0 });
    sum(gpu, { x: lossRows, n, out: partial, outIndex: c });
  }
  const total = gpu.alloc(4, 'loss-sum');
  sum(gpu, { x: partial, n: chunks, out: total });
  const y = Tensor.empty(gpu, [1], 'loss');
  scale(gpu, total, y.buffer, 1, 1 / denominator);
  for (const b of [chunk, lossRows, partial, total]) gpu.release(b);
  ctx.tape?.record({ op: 'lmHeadCrossEntropy', h, table, source, kept, targets: targetsT, rows, chunkRows, denominator, y }, [h, table, source, targetsT]);
  targetsT.release();
  if (kept) source.release();
  return y;
}

/**
 * logits = h·tableᵀ without a loss (inference: nothing is recorded), shaped `shape` ([..., V]).
 * Rows go in chunks whose logits fit one storage binding, each copied into place.
 */
export function lmHead(ctx: OpContext, h: Tensor, table: Tensor, shape: readonly number[]): Tensor {
  const gpu = ctx.gpu;
  const [V, E] = table.shape as [number, number];
  const rows = h.size / E;
  const y = Tensor.empty(gpu, shape, 'logits');
  if (y.size !== rows * V) throw new Error(`kiln: lmHead output [${shape}] does not hold ${rows}x${V} logits`);
  const chunkRows = lmHeadChunkRows(gpu, V);
  if (rows <= chunkRows) {
    matmul(gpu, { a: h.buffer, b: table.buffer, c: y.buffer, M: rows, N: V, K: E, layout: 'nt' });
    return y;
  }
  const chunk = gpu.alloc(chunkRows * V * 4, 'logits-chunk');
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const n = Math.min(chunkRows, rows - r0);
    matmul(gpu, { a: h.buffer, b: table.buffer, c: chunk, M: n, N: V, K: E, layout: 'nt', offsetA: r0 * E });
    gpu.copy(chunk, 0, y.buffer, r0 * V * 4, n * V * 4);
  }
  gpu.release(chunk);
  return y;
}
