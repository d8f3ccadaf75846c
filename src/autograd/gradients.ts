/**
 * THE gradient table: one backward per op name, each launching the kernels that turn the output's
 * gradient dY into its inputs' gradients. The tape (tape.ts) replays records through this table
 * in reverse. Conventions: `tape.gradTarget(x)` hands out where x's gradient goes and whether to
 * add (parameters always add; an activation's first contribution overwrites); kernels that only
 * add get `gradTarget(x, true)`, which zeroes a fresh buffer. Forward is in ops.ts, in the same
 * order and with the same names.
 */
import { attentionBackward } from '../kernels/attention/attention.js';
import { crossEntropy } from '../kernels/crossEntropy.js';
import { accumulate, dropoutBackward, fill, reluBackward } from '../kernels/elementwise.js';
import { embeddingBackward } from '../kernels/embedding.js';
import { layerNormBackward } from '../kernels/norms/layerNorm.js';
import { biasGrad, matmul } from '../kernels/matmul/index.js';
import { decoderGradients } from './decoderGradients.js';
import type { GradTarget, GradientTable, Tape } from './tape.js';
import { Tensor } from './tensor.js';

/** Adds (or, into a fresh buffer, copies) a pass-through gradient: the residual add's rule. */
function passThrough(tape: Tape, x: Tensor, dY: Tensor): void {
  const dX = tape.gradTarget(x);
  if (!dX) return;
  if (dX.accumulate) accumulate(tape.gpu, dY.buffer, dX.tensor.buffer, dY.size);
  else tape.gpu.copy(dY.buffer, 0, dX.tensor.buffer, 0, dY.size * 4);
}

/** A gradient buffer the kernel must write even though nobody wants it (a leaf without grad). */
function orScratch(tape: Tape, target: GradTarget | null, like: Tensor, scratch: Tensor[]): GradTarget {
  if (target) return target;
  const t = Tensor.empty(tape.gpu, like.shape, 'unused-grad');
  scratch.push(t);
  return { tensor: t, accumulate: false };
}

export const gradients: GradientTable = {
  // y = relu?(x·Wᵀ + b). dZ = dY ⊙ [y > 0]; dX = dZ·W; dW += dZᵀ·X; db += Σ_rows dZ.
  linear(tape, { x, w, b, y, relu }, dY) {
    const gpu = tape.gpu;
    const [N, K] = w.shape as [number, number];
    const M = x.size / K;
    let dZ = dY;
    if (relu) {
      dZ = Tensor.empty(gpu, y.shape, 'relu-grad');
      reluBackward(gpu, { y: y.buffer, dY: dY.buffer, dX: dZ.buffer, n: y.size });
    }
    const dX = tape.gradTarget(x);
    if (dX) matmul(gpu, { a: dZ.buffer, b: w.buffer, c: dX.tensor.buffer, M, N: K, K: N, layout: 'nn', accumulate: dX.accumulate });
    const dW = tape.gradTarget(w, true);
    if (dW) matmul(gpu, { a: dZ.buffer, b: x.buffer, c: dW.tensor.buffer, M: N, N: K, K: M, layout: 'tn', accumulate: true });
    const dB = b ? tape.gradTarget(b, true) : null;
    if (dB) biasGrad(gpu, { dY: dZ.buffer, dBias: dB.tensor.buffer, M, N });
    if (dZ !== dY) dZ.release();
  },

  // y = table[ids] (+ base). dTable[id] += dY rows (except skipId); dBase = dY.
  embedding(tape, { ids, table, base, skipId }, dY) {
    const D = table.shape[1]!;
    const dTable = tape.gradTarget(table, true);
    if (dTable) {
      embeddingBackward(tape.gpu, { hostIds: ids, dOut: dY.buffer, dTable: dTable.tensor.buffer, N: ids.length, D, skipId });
    }
    if (base) passThrough(tape, base, dY);
  },

  // y = (x - mean)·rstd·γ + β over the last dimension.
  layerNorm(tape, { x, gamma, beta, mean, rstd }, dY) {
    const cols = x.shape[x.shape.length - 1]!;
    const scratch: Tensor[] = [];
    const dX = orScratch(tape, tape.gradTarget(x), x, scratch);
    const dGamma = gamma ? tape.gradTarget(gamma, true) : null;
    const dBeta = beta ? tape.gradTarget(beta, true) : null;
    layerNormBackward(tape.gpu, {
      dY: dY.buffer,
      x: x.buffer,
      gamma: gamma?.buffer,
      mean: mean.buffer,
      rstd: rstd.buffer,
      dX: dX.tensor.buffer,
      dGamma: dGamma?.tensor.buffer,
      dBeta: dBeta?.tensor.buffer,
      rows: x.size / cols,
      cols,
      accumulate: dX.accumulate,
    });
    for (const t of scratch) t.release();
  },

  // Causal softmax(scale·q·kᵀ + mask)·v; the kernel recomputes probabilities from the saved lse.
  attention(tape, { q, k, v, y, lse, mask, segmentIds, everyRowSeesAKey, B, NH, HS, T, scale }, dY) {
    const gpu = tape.gpu;
    const scratch: Tensor[] = [];
    const targets = [
      orScratch(tape, tape.gradTarget(q), q, scratch),
      orScratch(tape, tape.gradTarget(k), k, scratch),
      orScratch(tape, tape.gradTarget(v), v, scratch),
    ] as const;
    // The kernel has one accumulate flag for dQ, dK and dV: if any must add, the fresh ones are
    // zeroed so that adding is right for all three.
    const add = targets.some((t) => t.accumulate);
    if (add) for (const t of targets) if (!t.accumulate) fill(gpu, t.tensor.buffer, t.tensor.size, 0);
    attentionBackward(gpu, {
      q: q.buffer,
      k: k.buffer,
      v: v.buffer,
      out: y.buffer,
      lse: lse.buffer,
      dOut: dY.buffer,
      dQ: targets[0].tensor.buffer,
      dK: targets[1].tensor.buffer,
      dV: targets[2].tensor.buffer,
      B,
      NH,
      HS,
      T,
      mask: mask?.buffer,
      segmentIds: segmentIds?.buffer,
      everyRowSeesAKey,
      scale,
      accumulate: add,
    });
    for (const t of scratch) t.release();
  },

  // y = a + b.
  add(tape, { a, b }, dY) {
    passThrough(tape, a, dY);
    passThrough(tape, b, dY);
  },

  // y = x ⊙ mask / (1 - p); the kernel recomputes the mask from (seed, offset).
  dropout(tape, { x, p, seed, offset }, dY) {
    const dX = tape.gradTarget(x);
    if (!dX) return;
    dropoutBackward(tape.gpu, { dY: dY.buffer, dX: dX.tensor.buffer, n: dY.size, p, seed, offset, accumulate: dX.accumulate });
  },

  // loss = Σ_rows CE(source·tableᵀ, target) / denominator. The logits are recomputed chunk by chunk
  // (never materialised whole): dLogits = (softmax - onehot)/denominator, then dSource =
  // dLogits·table and dTable += dLogitsᵀ·source. The tied LM head thus adds into embed_tokens'
  // gradient. When the source is h's rows with a target, their gradients are added into a zeroed
  // dH (the other rows' gradient is 0).
  lmHeadCrossEntropy(tape, { h, table, source, kept, targets, rows, chunkRows, denominator }, dY) {
    if (!tape.isSeed(dY)) {
      throw new Error('kiln: the cross-entropy loss must be the root of backward() (its gradient scale is set on the host)');
    }
    const gpu = tape.gpu;
    const [V, E] = table.shape as [number, number];
    const dH = tape.gradTarget(h, kept !== null);
    const dTable = tape.gradTarget(table, true);
    const dSource = dH && kept ? gpu.alloc(rows * E * 4, 'lm-head-rows-grad') : null;
    const logits = gpu.alloc(Math.min(chunkRows, rows) * V * 4, 'logits-chunk');
    const loss = gpu.alloc(Math.min(chunkRows, rows) * 4, 'loss-rows');
    for (let r0 = 0; r0 < rows; r0 += chunkRows) {
      const n = Math.min(chunkRows, rows - r0);
      matmul(gpu, { a: source.buffer, b: table.buffer, c: logits, M: n, N: V, K: E, layout: 'nt', offsetA: r0 * E });
      crossEntropy(gpu, { logits, targets: targets.buffer, loss, rows: n, V, targetOffset: r0, dScale: 1 / denominator });
      if (dH) {
        const c = dSource ?? dH.tensor.buffer;
        matmul(gpu, { a: logits, b: table.buffer, c, M: n, N: E, K: V, layout: 'nn', offsetC: r0 * E, accumulate: !dSource && dH.accumulate });
      }
      if (dTable) {
        matmul(gpu, { a: logits, b: source.buffer, c: dTable.tensor.buffer, M: V, N: E, K: n, layout: 'tn', offsetB: r0 * E, accumulate: true });
      }
    }
    if (dH && dSource && kept) {
      embeddingBackward(gpu, { hostIds: kept, dOut: dSource, dTable: dH.tensor.buffer, N: rows, D: E });
      gpu.release(dSource);
    }
    gpu.release(logits);
    gpu.release(loss);
  },

  ...decoderGradients,
};
