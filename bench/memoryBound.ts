import type { Gpu } from '../src/kernels/runtime/device.js';
import { add, dropout, dropoutBackward, reluBackward, scale } from '../src/kernels/elementwise.js';
import { embeddingBackward, embeddingForward } from '../src/kernels/embedding.js';
import { biasGrad } from '../src/kernels/matmul/biasGrad.js';
import { sumOfSquares } from '../src/kernels/reductions.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { dropoutReference } from '../test/reference/dropout.js';
import { embeddingBackwardReference, embeddingForwardReference } from '../test/reference/embedding.js';
import { benchKernel, gpuTarget, relativeError, type BenchRow } from './harness.js';

// The small memory-bound kernels of a training step at OPT-350m shapes, T = 512 tokens: the
// residual add (d_model 1024), a scale of the same size (the plainest read-and-write shader, what
// the others can be held to), ReLU backward (the 4096-wide FFN), dropout forward and backward,
// the token embedding (OPT-350m embeds in 512 and projects to 1024) forward and backward, and the
// global gradient norm over all 331M parameters as the clipper sees them (one tensor each).
// Bytes are what each kernel must minimally read and write.
const T = 512;
const D = 1024;
const FFN = 4096;
const VOCAB = 50272;
const EMBED = 512;
const LAYERS = 24;

/** OPT-350m's parameter tensors (element counts): embeddings, projections, then 24 decoder layers. */
function opt350mTensors(): number[] {
  const layer = [D * D, D, D * D, D, D * D, D, D * D, D, D, D, FFN * D, FFN, D * FFN, D, D, D];
  return [VOCAB * EMBED, 2050 * D, EMBED * D, D * EMBED, ...Array.from({ length: LAYERS }, () => layer).flat()];
}

async function validate(gpu: Gpu): Promise<void> {
  const fail = (what: string, err: number) => {
    if (!(err < 1e-5)) throw new Error(`bench: ${what} is wrong (relative error ${err})`);
  };
  const n = 1003;
  const [x, y] = [seededValues(n, 1), seededValues(n, 2)];
  const [bx, by, out] = [gpu.upload(x), gpu.upload(y), gpu.alloc(n * 4)];
  add(gpu, bx, by, out, n);
  fail('add', relativeError(await gpu.readF32(out, 0, n), Array.from(x, (v, i) => v + y[i])));
  scale(gpu, bx, out, n, 1.5);
  fail('scale', relativeError(await gpu.readF32(out, 0, n), Array.from(x, (v) => 1.5 * v)));
  reluBackward(gpu, { y: bx, dY: by, dX: out, n });
  fail('reluBackward', relativeError(await gpu.readF32(out, 0, n), Array.from(x, (v, i) => (v > 0 ? y[i] : 0))));
  dropout(gpu, { x: bx, out, n, p: 0.1, seed: 7, offset: 3 });
  fail('dropout', relativeError(await gpu.readF32(out, 0, n), dropoutReference(x, 0.1, 7, 3)));
  const s = gpu.alloc(4);
  sumOfSquares(gpu, { tensors: [{ buffer: bx, n }, { buffer: by, n: 400 }], out: s });
  fail('sumOfSquares', relativeError(await gpu.readF32(s, 0, 1), [x.reduce((a, v) => a + v * v, 0) + y.slice(0, 400).reduce((a, v) => a + v * v, 0)]));
  [bx, by, out, s].forEach((b) => gpu.release(b));
  for (const N of [12, 13]) {
    const M = 37;
    const dY = seededValues(M * N, 5);
    const [bdY, bdBias] = [gpu.upload(dY), gpu.upload(new Float32Array(N))];
    biasGrad(gpu, { dY: bdY, dBias: bdBias, M, N });
    fail(`biasGrad N=${N}`, relativeError(await gpu.readF32(bdBias, 0, N), Array.from({ length: N }, (_, j) => dY.reduce((a, v, i) => a + (i % N === j ? v : 0), 0))));
    [bdY, bdBias].forEach((b) => gpu.release(b));
  }

  const [N, Dm, V] = [37, 12, 50];
  const ids = Uint32Array.from({ length: N }, (_, i) => (i * 7) % V);
  const table = seededValues(V * Dm, 3);
  const dOut = seededValues(N * Dm, 4);
  const [bIds, bTable, bOut, bdOut, bdTable] = [gpu.upload(ids), gpu.upload(table), gpu.alloc(N * Dm * 4), gpu.upload(dOut), gpu.upload(new Float32Array(V * Dm))];
  embeddingForward(gpu, { ids: bIds, table: bTable, out: bOut, N, D: Dm });
  fail('embeddingForward', relativeError(await gpu.readF32(bOut, 0, N * Dm), embeddingForwardReference(ids, table, Dm)));
  embeddingBackward(gpu, { hostIds: ids, dOut: bdOut, dTable: bdTable, N, D: Dm });
  fail('embeddingBackward', relativeError(await gpu.readF32(bdTable, 0, V * Dm), embeddingBackwardReference(ids, dOut, new Float32Array(V * Dm), Dm).dTable));
  [bIds, bTable, bOut, bdOut, bdTable].forEach((b) => gpu.release(b));
}

/** `Family` for bench/kernels.ts: validates on small cases, then times each kernel at OPT-350m shapes. */
export async function memoryBoundBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  await validate(gpu);
  const target = gpuTarget(gpu);
  const rows: BenchRow[] = [];
  const buffers: GPUBuffer[] = [];
  const data = (count: number, seed: number) => {
    const b = gpu.upload(seededValues(count, seed));
    buffers.push(b);
    return b;
  };
  const time = async (name: string, shape: string, bytes: number, iters: number, run: () => void) => {
    const r = await benchKernel({ name, shape, bytes, iters, run, target });
    rows.push(r);
    log(`  ${name} ${shape}: ${r.ms.toFixed(3)} ms, ${r.gbps!.toFixed(2)} GB/s`);
  };

  const nRes = T * D;
  const [x, y, out] = [data(nRes, 1), data(nRes, 2), data(nRes, 3)];
  await time('add (residual)', `n=${T}x${D}`, 12 * nRes, 50, () => add(gpu, x, y, out, nRes));
  await time('scale (a WGSL copy)', `n=${T}x${D}`, 8 * nRes, 50, () => scale(gpu, x, out, nRes, 1.5));
  await time('dropout', `n=${T}x${D} p=0.1`, 8 * nRes, 50, () => dropout(gpu, { x, out, n: nRes, p: 0.1, seed: 1, offset: 0 }));
  await time('dropoutBackward', `n=${T}x${D} p=0.1`, 8 * nRes, 50, () => dropoutBackward(gpu, { dY: x, dX: out, n: nRes, p: 0.1, seed: 1, offset: 0 }));
  const nFfn = T * FFN;
  const [h, dH, dPre] = [data(nFfn, 4), data(nFfn, 5), data(nFfn, 6)];
  await time('reluBackward', `n=${T}x${FFN}`, 12 * nFfn, 20, () => reluBackward(gpu, { y: h, dY: dH, dX: dPre, n: nFfn }));
  // The bias gradients of the MLP's up and down projections (column sums of dY).
  for (const N of [FFN, D]) {
    const dBias = data(N, 10);
    await time('biasGrad', `${T}x${N}`, 4 * T * N + 8 * N, 20, () => biasGrad(gpu, { dY: dH, dBias, M: T, N }));
  }

  // Distinct token ids (a batch of real text repeats some; distinct rows are the most traffic).
  const hostIds = Uint32Array.from({ length: T }, (_, i) => (i * 7919) % VOCAB);
  const ids = gpu.upload(hostIds);
  buffers.push(ids);
  const table = data(VOCAB * EMBED, 7);
  const [emb, dTable] = [data(T * EMBED, 8), data(VOCAB * EMBED, 9)];
  await time('embeddingForward', `N=${T} D=${EMBED} V=${VOCAB}`, 8 * T * EMBED, 50, () => embeddingForward(gpu, { ids, table, out: emb, N: T, D: EMBED }));
  await time('embeddingBackward', `N=${T} D=${EMBED} V=${VOCAB}`, 4 * EMBED * 3 * T, 20, () =>
    embeddingBackward(gpu, { hostIds, dOut: emb, dTable, N: T, D: EMBED }),
  );
  for (const b of buffers.splice(0)) gpu.release(b);

  const sizes = opt350mTensors();
  const total = sizes.reduce((a, b) => a + b, 0);
  const grads = sizes.map((count) => gpu.alloc(count * 4, 'bench-grad'));
  const sumSq = gpu.alloc(4);
  const tensors = grads.map((buffer, i) => ({ buffer, n: sizes[i] }));
  await time('sumOfSquares (global L2 norm)', `${sizes.length} tensors, n=${total}`, 4 * total, 2, () => sumOfSquares(gpu, { tensors, out: sumSq }));
  [...grads, sumSq].forEach((b) => gpu.release(b));
  gpu.pool.trim();
  return rows;
}
