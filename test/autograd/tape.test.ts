/**
 * The tape on a tiny transformer block built from the ops (embeddings with positions, layer norm,
 * attention with left padding, relu MLP, residual adds, tied LM head with the loss), against a
 * float64 reference: the loss, and every gradient by central finite differences of the
 * reference. Plus the tape's bookkeeping: gradients of tensors read several times add up,
 * backward frees what forward saved, and a spent tape refuses a second backward.
 */
import { describe, expect, it } from 'vitest';
import { add, attention, dropout, embedding, layerNorm, linear, lmHeadCrossEntropy, type OpContext } from '../../src/autograd/ops.js';
import { Tape } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/autograd/tensor.js';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { fill } from '../../src/kernels/elementwise.js';
import { seededValues } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { addRef, attentionRef, crossEntropySumRef, embeddingRef, layerNormRef, linearRef } from '../reference/transformer.js';

const gpu = useGpu();

// Shapes: primes and non-multiples of 4 where the kernels allow, so tails are exercised.
const B = 2, T = 5, V = 13, D = 8, NH = 2, HS = 4, F = 12, P = 9, PAD = 1;
// Row 0 holds the pad id at a real (unmasked) position: nn.Embedding(padding_idx) still gives
// its lookup no gradient, while the tied LM head does reach that row.
const ids = [3, 7, PAD, 12, 2, PAD, PAD, 5, 9, 3];
const mask = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1];
// Targets of pad rows are -100, so no fully masked query row reaches the loss (see the golden
// README: autograd and finite differences differ there by design).
const targets = [7, 7, 12, 2, -100, -100, -100, 9, 3, -100];
const positions = (() => {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let t = 0; t < T; t++) {
      c += mask[b * T + t]!;
      out.push(c * mask[b * T + t]! - 1 + 2);
    }
  }
  return out;
})();

const shapes: Record<string, number[]> = {
  tok: [V, D], pos: [P, D], g: [D], b: [D],
  wq: [D, D], bq: [D], wk: [D, D], bk: [D], wv: [D, D], bv: [D],
  w1: [F, D], b1: [F], w2: [D, F], b2: [D],
};

function initialValues(): Map<string, Float64Array> {
  const values = new Map<string, Float64Array>();
  let seed = 11;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, d) => a * d, 1);
    const v = Float64Array.from(seededValues(n, seed++, name.startsWith('w') ? 0.5 : 0.3));
    if (name === 'g') v.forEach((x, i) => (v[i] = 1 + x));
    values.set(name, v);
  }
  return values;
}

const frozenPadRow = initialValues().get('tok')!.slice(PAD * D, (PAD + 1) * D);

function referenceLoss(p: Map<string, Float64Array>): number {
  const get = (n: string) => p.get(n)!;
  // padding_idx: the lookup reads the pad row as a constant, so finite differences see no path.
  const lookupTable = get('tok').slice();
  lookupTable.set(frozenPadRow, PAD * D);
  const x = addRef(embeddingRef(ids, lookupTable, D), embeddingRef(positions, get('pos'), D));
  const n = layerNormRef(x, get('g'), get('b'), D);
  const q = linearRef(n, get('wq'), get('bq'), D, D);
  const k = linearRef(n, get('wk'), get('bk'), D, D);
  const v = linearRef(n, get('wv'), get('bv'), D, D);
  const r = addRef(x, attentionRef(q, k, v, mask, B, T, NH, HS, HS ** -0.5));
  const f = linearRef(r, get('w1'), get('b1'), F, D, true);
  const s = addRef(r, linearRef(f, get('w2'), get('b2'), D, F));
  const count = targets.filter((t) => t !== -100).length;
  return crossEntropySumRef(linearRef(s, get('tok'), null, V, D), targets, V) / count;
}

/** A leaf with a zeroed gradient, as a model parameter is. */
function leaf(g: Gpu, data: ArrayLike<number>, shape: number[]): Tensor {
  const t = Tensor.fromArray(g, Float32Array.from(data), shape, 'leaf');
  t.grad = Tensor.empty(g, shape, 'leaf-grad');
  fill(g, t.grad.buffer, t.size, 0);
  return t;
}

function gpuLoss(ctx: OpContext, p: Map<string, Tensor>): Tensor {
  const get = (n: string) => p.get(n)!;
  const tok = embedding(ctx, Uint32Array.from(ids), get('tok'), { skipId: PAD });
  const x = embedding(ctx, Uint32Array.from(positions), get('pos'), { base: tok });
  const n = layerNorm(ctx, x, get('g'), get('b'));
  const q = linear(ctx, n, get('wq'), get('bq'));
  const k = linear(ctx, n, get('wk'), get('bk'));
  const v = linear(ctx, n, get('wv'), get('bv'));
  const maskT = Tensor.fromArray(ctx.gpu, Uint32Array.from(mask), [B, T], 'mask');
  const a = attention(ctx, q, k, v, { B, NH, HS, Tq: T, Tk: T, mask: maskT, segmentIds: null, scale: HS ** -0.5 });
  const r = add(ctx, x, a);
  const f = linear(ctx, r, get('w1'), get('b1'), true);
  const g2 = linear(ctx, f, get('w2'), get('b2'));
  const s = add(ctx, r, g2);
  const loss = lmHeadCrossEntropy(ctx, s, get('tok'), Int32Array.from(targets), targets.filter((t) => t !== -100).length);
  for (const t of [tok, x, n, q, k, v, maskT, a, r, f, g2, s]) t.release();
  return loss;
}

function finiteDifferenceGradient(values: Map<string, Float64Array>, name: string): Float64Array {
  const v = values.get(name)!;
  const grad = new Float64Array(v.length);
  const h = 1e-6;
  for (let i = 0; i < v.length; i++) {
    const x0 = v[i]!;
    v[i] = x0 + h;
    const up = referenceLoss(values);
    v[i] = x0 - h;
    const down = referenceLoss(values);
    v[i] = x0;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

describe('tape', () => {
  it('loss and every gradient of a transformer block match float64 finite differences', async () => {
    const g = gpu();
    const values = initialValues();
    const params = new Map([...values].map(([n, v]) => [n, leaf(g, v, shapes[n]!)]));
    const tape = new Tape(g);
    const loss = gpuLoss({ gpu: g, tape }, params);
    expect(tape.length).toBe(12);
    loss.backward();
    expectClose([await loss.item()], [referenceLoss(values)], TOLERANCE.f32Reduction, 'loss');
    const want = new Map([...params.keys()].map((name) => [name, finiteDifferenceGradient(values, name)]));
    const largest = Math.max(...[...want.values()].map((g) => Math.max(...g.map(Math.abs))));
    for (const [name, t] of params) {
      const got = await t.grad!.toArray();
      if (name === 'bk') {
        // Analytically zero (a per-query-row shift of the scores): only round-off on our side.
        expect(Math.max(...got.map(Math.abs))).toBeLessThan(TOLERANCE.f32Reduction.atolScaled * largest);
        continue;
      }
      expectClose(got, want.get(name)!, TOLERANCE.f32Reduction, `d loss / d ${name}`);
    }
    loss.release();
    for (const t of params.values()) {
      t.grad!.release();
      t.release();
    }
  });

  it('gradients of a tensor read by several ops add up, and so do two backward passes', async () => {
    const g = gpu();
    const values = initialValues();
    const params = new Map([...values].map(([n, v]) => [n, leaf(g, v, shapes[n]!)]));
    const once = new Map<string, Float32Array>();
    for (let pass = 0; pass < 2; pass++) {
      const loss = gpuLoss({ gpu: g, tape: new Tape(g) }, params);
      loss.backward();
      loss.release();
      if (pass === 0) for (const [n, t] of params) once.set(n, await t.grad!.toArray());
    }
    for (const [n, t] of params) {
      expectClose(await t.grad!.toArray(), once.get(n)!.map((x) => 2 * x), TOLERANCE.f32, `2 x d loss / d ${n}`);
      t.grad!.release();
      t.release();
    }
  });

  it('backward releases everything forward saved, and a spent tape refuses a second backward', async () => {
    const g = gpu();
    const values = initialValues();
    const params = new Map([...values].map(([n, v]) => [n, leaf(g, v, shapes[n]!)]));
    await g.sync();
    const before = g.pool.stats().bytesInUse;
    const tape = new Tape(g);
    const loss = gpuLoss({ gpu: g, tape }, params);
    expect(g.pool.stats().bytesInUse).toBeGreaterThan(before + 4096);
    loss.backward();
    expect(() => loss.backward()).toThrow(/twice/);
    loss.release();
    expect(g.pool.stats().bytesInUse).toBe(before);
    // Without a tape nothing is retained: the forward alone leaves only the loss.
    const inference = gpuLoss({ gpu: g, tape: null }, params);
    inference.release();
    expect(g.pool.stats().bytesInUse).toBe(before);
    for (const t of params.values()) {
      t.grad!.release();
      t.release();
    }
  });

  it('dropout scales kept elements by 1/(1-p) and backward applies the same mask', async () => {
    const g = gpu();
    const rows = 7, cols = 33, p = 0.3;
    const x = leaf(g, seededValues(rows * cols, 5, 1), [rows, cols]);
    const w = leaf(g, seededValues(V * cols, 6, 0.5), [V, cols]);
    const tgt = Int32Array.from({ length: rows }, (_, i) => (i * 5) % V);
    const tape = new Tape(g);
    const ctx = { gpu: g, tape };
    const d = dropout(ctx, x, p, 1234, 0);
    const loss = lmHeadCrossEntropy(ctx, d, w, tgt, rows);
    loss.backward();
    const [xv, dv, dx] = [await x.toArray(), await d.toArray(), await x.grad!.toArray()];
    // The same loss from the dropped values as a leaf: its gradient, masked and scaled, is dx.
    const leafD = leaf(g, dv, [rows, cols]);
    const w2 = leaf(g, await w.toArray(), [V, cols]);
    const loss2 = lmHeadCrossEntropy({ gpu: g, tape: new Tape(g) }, leafD, w2, tgt, rows);
    loss2.backward();
    const dd = await leafD.grad!.toArray();
    let kept = 0;
    const want = new Float32Array(rows * cols);
    for (let i = 0; i < xv.length; i++) {
      const keep = dv[i] !== 0;
      if (keep) {
        kept++;
        expect(dv[i]).toBeCloseTo(xv[i]! / (1 - p), 5);
        want[i] = dd[i]! / (1 - p);
      }
    }
    expect(kept / xv.length).toBeGreaterThan(0.55);
    expect(kept / xv.length).toBeLessThan(0.85);
    expectClose(dx, want, TOLERANCE.f32, 'dropout dX');
    for (const t of [loss, loss2, d]) t.release();
    for (const t of [x, w, leafD, w2]) {
      t.grad!.release();
      t.release();
    }
  });
});
