import type { Gpu } from '../src/kernels/runtime/device.js';
import { adamw } from '../src/kernels/adamw.js';
import { attentionBackward, attentionForward } from '../src/kernels/attention/attention.js';
import { crossEntropy } from '../src/kernels/crossEntropy.js';
import { layerNormBackward, layerNormForward } from '../src/kernels/norms/layerNorm.js';
import { f16BitsToF32, f32ToF16Bits } from '../src/model/checkpoint/dtypes.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { attentionBackwardReference, attentionReference } from '../test/reference/attention.js';
import { crossEntropyReference } from '../test/reference/crossEntropy.js';
import { layerNormBackwardReference, layerNormReference } from '../test/reference/layerNorm.js';
import { benchKernel, gpuTarget, relativeError, type BenchRow } from './harness.js';

// The kernels besides matmul at OPT-350m training shapes (T = 512): layer norm over d_model 1024,
// attention with 16 heads of 64, cross-entropy over the 50272-token vocabulary, and one AdamW
// step over all 331M parameters. Each is validated on a small case against test/reference first.
//
// The kernels come in as a set so that bench/other.ts can time an older build of the same kernels
// side by side with the library's, each shape back to back (the machine is shared and noisy).
export interface OtherKernels {
  layerNormForward: typeof layerNormForward;
  layerNormBackward: typeof layerNormBackward;
  attentionForward: typeof attentionForward;
  attentionBackward: typeof attentionBackward;
  crossEntropy: typeof crossEntropy;
  adamw: typeof adamw;
}
export const libraryKernels: OtherKernels = { layerNormForward, layerNormBackward, attentionForward, attentionBackward, crossEntropy, adamw };

/** Validates one kernel set on small cases against test/reference before anything is timed. */
async function validate(gpu: Gpu, K: OtherKernels, label: string): Promise<void> {
  const fail = (what: string, err: number) => {
    if (!(err < 1e-4)) throw new Error(`bench: ${label}${what} is wrong (relative error ${err})`);
  };
  {
    const rows = 5;
    const cols = 68;
    const x = seededValues(rows * cols, 1);
    const [bx, y, mean, rstd] = [gpu.upload(x), gpu.alloc(rows * cols * 4), gpu.alloc(rows * 4), gpu.alloc(rows * 4)];
    const dY = seededValues(rows * cols, 2);
    const [bdY, dX] = [gpu.upload(dY), gpu.alloc(rows * cols * 4)];
    K.layerNormForward(gpu, { x: bx, y, mean, rstd, rows, cols, eps: 1e-5 });
    K.layerNormBackward(gpu, { dY: bdY, x: bx, mean, rstd, dX, rows, cols });
    fail('layerNorm', relativeError(await gpu.readF32(y, 0, rows * cols), layerNormReference(x, null, null, rows, cols, 1e-5).y));
    fail('layerNorm dX', relativeError(await gpu.readF32(dX, 0, rows * cols), layerNormBackwardReference(x, null, dY, rows, cols, 1e-5).dX));
    [bx, y, mean, rstd, bdY, dX].forEach((b) => gpu.release(b));
  }
  {
    const P = { B: 1, NH: 2, HS: 64, Tq: 37, Tk: 37, kvRows: 37, scale: 0.125, mask: null, seg: null };
    const n = 37 * 128;
    const [q, k, v, dO] = [1, 2, 3, 4].map((s) => seededValues(n, s));
    const [bq, bk, bv, bdO, out, lse, dQ, dK, dV] = [gpu.upload(q), gpu.upload(k), gpu.upload(v), gpu.upload(dO), gpu.alloc(n * 4), gpu.alloc(2 * 37 * 4), gpu.alloc(n * 4), gpu.alloc(n * 4), gpu.alloc(n * 4)];
    const common = { q: bq, k: bk, v: bv, B: 1, NH: 2, HS: 64, scale: 0.125 };
    K.attentionForward(gpu, { ...common, out, lse, Tq: 37, Tk: 37 });
    K.attentionBackward(gpu, { ...common, out, lse, dOut: bdO, dQ, dK, dV, T: 37 });
    fail('attention', relativeError(await gpu.readF32(out, 0, n), attentionReference(P, q, k, v).out));
    const want = attentionBackwardReference(P, q, k, v, dO);
    fail('attention dQ', relativeError(await gpu.readF32(dQ, 0, n), want.dQ));
    fail('attention dK', relativeError(await gpu.readF32(dK, 0, n), want.dK));
    fail('attention dV', relativeError(await gpu.readF32(dV, 0, n), want.dV));
    [bq, bk, bv, bdO, out, lse, dQ, dK, dV].forEach((b) => gpu.release(b));
  }
  {
    const rows = 3;
    const V = 1000;
    const logits = seededValues(rows * V, 4, 5);
    const [bl, bt, loss] = [gpu.upload(logits), gpu.upload(Int32Array.of(3, -100, 999)), gpu.alloc(rows * 4)];
    K.crossEntropy(gpu, { logits: bl, targets: bt, loss, rows, V });
    fail('crossEntropy', relativeError(await gpu.readF32(loss, 0, rows), crossEntropyReference(logits, [3, -100, 999], rows, V).loss));
    [bl, bt, loss].forEach((b) => gpu.release(b));
  }
}

/**
 * Times every kernel of each set at the shapes above; rows of a set other than the first carry its
 * label in the note. With one set (the library's) this is the `Family` that bench/kernels.ts runs.
 */
export async function kernelsOtherBench(gpu: Gpu, log: (line: string) => void, sets: [string, OtherKernels][] = [['', libraryKernels]], only = /./): Promise<BenchRow[]> {
  for (const [label, K] of sets) await validate(gpu, K, label && `${label} `);
  const target = gpuTarget(gpu);
  const rows: BenchRow[] = [];
  // One shape, every set back to back.
  // `libraryOnly`: rows that use an option older builds lack (an older set would misread the inputs).
  const each = async (opts: Omit<Parameters<typeof benchKernel>[0], 'run' | 'target'>, run: (K: OtherKernels) => () => void, libraryOnly = false) => {
    if (!only.test(opts.name)) return;
    for (const [label, K] of sets) {
      if (libraryOnly && K !== libraryKernels) continue;
      const r = await benchKernel({ ...opts, run: run(K), target });
      if (label) r.note = r.note ? `${label}; ${r.note}` : label;
      rows.push(r);
      log(`  ${r.kernel} ${r.shape}${label ? ` [${label}]` : ''}: ${r.ms.toFixed(2)} ms${r.gflops ? `, ${r.gflops.toFixed(2)} GFLOP/s` : ''}${r.gbps ? `, ${r.gbps.toFixed(2)} GB/s` : ''}`);
    }
  };
  const buffers: GPUBuffer[] = [];
  const data = (n: number, seed: number) => {
    const b = gpu.upload(seededValues(n, seed));
    buffers.push(b);
    return b;
  };
  const uploaded = (x: Float32Array | Uint16Array) => {
    const b = gpu.upload(x);
    buffers.push(b);
    return b;
  };
  const empty = (bytes: number) => {
    const b = gpu.alloc(bytes);
    buffers.push(b);
    return b;
  };

  {
    const R = 512;
    const C = 1024;
    const [x, gamma, beta, dY] = [data(R * C, 1), data(C, 2), data(C, 3), data(R * C, 4)];
    const [y, mean, rstd, dX, dGamma, dBeta] = [empty(R * C * 4), empty(R * 4), empty(R * 4), empty(R * C * 4), empty(C * 4), empty(C * 4)];
    const shape = `${R}x${C}`;
    await each({ name: 'layerNormForward', shape, bytes: 2 * R * C * 4, iters: 20 }, (K) => () => K.layerNormForward(gpu, { x, gamma, beta, y, mean, rstd, rows: R, cols: C, eps: 1e-5 }));
    // Minimal traffic: forward reads x and writes y; backward reads dY and x and writes dX (the
    // rows' statistics and the parameter vectors are a rounding error at these shapes).
    await each({ name: 'layerNormBackward', shape, bytes: 3 * R * C * 4, iters: 20 }, (K) => () => K.layerNormBackward(gpu, { dY, x, gamma, mean, rstd, dX, dGamma, dBeta, rows: R, cols: C }));
  }
  {
    const [B, NH, T, HS] = [1, 16, 512, 64];
    const n = B * T * NH * HS;
    const [q, k, v, dOut] = [data(n, 5), data(n, 6), data(n, 7), data(n, 8)];
    const [out, lse, dQ, dK, dV] = [empty(n * 4), empty(B * NH * T * 4), empty(n * 4), empty(n * 4), empty(n * 4)];
    const shape = `B=${B} NH=${NH} T=${T} HS=${HS}`;
    const flops = 4 * B * NH * (T * T / 2) * HS; // causal: half the score matrix, two matmuls
    const common = { q, k, v, B, NH, HS, scale: 1 / Math.sqrt(HS) };
    // Both variants, FLOPs counted as the causal half for each. 'scores' computes more: here (no
    // padding mask) query blocks of 64 rows against the keys they can see, 1.125x the credited
    // FLOPs; under left padding the full T×T products, 2x. (An older build without variants runs its one.)
    for (const variant of ['scores', 'flash'] as const) {
      const full = variant === 'scores' ? '; computes 1.125x these (query blocks of 64; 2x under left padding)' : '';
      await each({ name: 'attentionForward', shape, flops, iters: 2, note: `${variant}${full}` }, (K) => () => K.attentionForward(gpu, { ...common, out, lse, Tq: T, Tk: T, variant }));
      await each({ name: 'attentionBackward', shape, flops: 2.5 * flops, iters: 1, note: `${variant}; FLOPs: 5 matmuls (2 recomputed)${full}` }, (K) => () =>
        K.attentionBackward(gpu, { ...common, out, lse, dOut, dQ, dK, dV, T, variant }),
      );
    }
    // Padded batches. 8 left pads leave rows that see no key, so 'scores' forms the full T×T
    // products; 8 right pads (the trainer's batches) leave every row a key, which the caller
    // vouches for (everyRowSeesAKey), and the causal blocks stay.
    for (const side of ['left', 'right'] as const) {
      const mask = gpu.upload(Uint32Array.from({ length: B * T }, (_, t) => ((side === 'left' ? t % T < 8 : t % T >= T - 8) ? 0 : 1)));
      buffers.push(mask);
      const masked = { ...common, mask, variant: 'scores' as const, everyRowSeesAKey: side === 'right' };
      const note = `scores, 8 ${side} pads; computes ${side === 'left' ? '2x these (full T×T)' : '1.125x these (query blocks of 64)'}`;
      await each({ name: 'attentionForward', shape: `${shape} mask`, flops, iters: 2, note }, (K) => () => K.attentionForward(gpu, { ...masked, out, lse, Tq: T, Tk: T }));
      await each({ name: 'attentionBackward', shape: `${shape} mask`, flops: 2.5 * flops, iters: 1, note }, (K) => () =>
        K.attentionBackward(gpu, { ...masked, out, lse, dOut, dQ, dK, dV, T }),
      );
    }
  }
  if (only.test('attentionDecode')) {
    // One decoding step's attention (a layer of OPT-350m generating after Tk - 1 tokens, from a KV
    // cache of 2048 rows: 'flash' with one query row), k and v in f32 and as packed f16 halves (an
    // f16 cache: half the bytes streamed). The f16 run is first checked against f32 k and v
    // rounded to f16, which it must match up to summation order.
    const [B, NH, HS, kvRows] = [1, 16, 64, 2048];
    const C = NH * HS;
    const kv = [seededValues(B * kvRows * C, 12), seededValues(B * kvRows * C, 13)];
    const bits = kv.map((x) => Uint16Array.from(x, f32ToF16Bits));
    const [k32, v32] = kv.map((x) => uploaded(x));
    const [k16, v16] = bits.map((h) => uploaded(h));
    const [kr, vr] = bits.map((h) => uploaded(Float32Array.from(h, f16BitsToF32)));
    const q = data(B * C, 14);
    const out = empty(B * C * 4);
    const common = { q, out, B, NH, HS, scale: 1 / Math.sqrt(HS), Tq: 1, kvRows, variant: 'flash' as const };
    attentionForward(gpu, { ...common, k: k16, v: v16, Tk: 1024, kvDtype: 'f16' });
    const got = await gpu.readF32(out, 0, B * C);
    attentionForward(gpu, { ...common, k: kr, v: vr, Tk: 1024 });
    const err = relativeError(got, await gpu.readF32(out, 0, B * C));
    if (!(err < 1e-5)) throw new Error(`bench: attention with f16 k/v is wrong (relative error ${err} against f32 k/v rounded to f16)`);
    for (const Tk of [512, 1024]) {
      const shape = `B=${B} NH=${NH} HS=${HS} Tq=1 Tk=${Tk} kvRows=${kvRows}`;
      for (const [kvDtype, k, v] of [['f32', k32, v32], ['f16', k16, v16]] as const) {
        await each(
          { name: 'attentionDecode', shape, bytes: 2 * B * Tk * C * (kvDtype === 'f16' ? 2 : 4), flops: 4 * B * NH * Tk * HS, iters: 20, note: `flash, k/v ${kvDtype}` },
          (K) => () => K.attentionForward(gpu, { ...common, k, v, Tk, kvDtype }),
          kvDtype === 'f16',
        );
      }
    }
  }
  {
    const [R, V] = [512, 50272];
    const logits = data(R * V, 9);
    const targets = gpu.upload(Int32Array.from({ length: R }, (_, r) => (r * 977) % V));
    buffers.push(targets);
    const loss = empty(R * 4);
    const shape = `${R}x${V}`;
    await each({ name: 'crossEntropy', shape, bytes: R * V * 4, iters: 3 }, (K) => () => K.crossEntropy(gpu, { logits, targets, loss, rows: R, V }));
    await each({ name: 'crossEntropy+dLogits', shape, bytes: 2 * R * V * 4, iters: 3, note: 'in place' }, (K) => () => K.crossEntropy(gpu, { logits, targets, loss, rows: R, V, dScale: 1 / R }));
  }
  for (const b of buffers.splice(0)) gpu.release(b);
  {
    // OPT-350m's 331M parameters as one flat range (the launcher binds it in 128 MiB slices).
    const n = 331_196_416;
    const [param, grad, m, v] = [0, 1, 2, 3].map(() => empty(n * 4));
    const gradScale = gpu.upload(Float32Array.of(0.5));
    buffers.push(gradScale);
    let step = 0;
    await each({ name: 'adamw', shape: `n=${n}`, bytes: 28 * n, iters: 1 }, (K) => () =>
      K.adamw(gpu, { param, grad, m, v, n, lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: ++step, gradScale }),
    );
  }
  for (const b of buffers.splice(0)) gpu.release(b);
  gpu.pool.trim(); // hand the optimizer's 5 GB back rather than keep it pooled for later families
  return rows;
}
