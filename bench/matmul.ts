import { create } from 'webgpu';
import type { Gpu } from '../src/kernels/runtime/device.js';
import { matmul, subgroupMatmulLanes, type MatmulLayout, type MatmulVariant } from '../src/kernels/matmul/index.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { f32ToF16Bits } from '../src/model/checkpoint/dtypes.js';
import { matmulRef } from '../test/reference/matmul.js';
import { benchKernel, foreignTarget, gpuTarget, relativeError, type BenchRow, type BenchTarget } from './harness.js';

// OPT-350m at T = 512: (M, K, N) of the attention projections, the MLP up and down projections,
// and the LM head (d_model 512 projected to the 50272-token vocabulary).
export const OPT_SHAPES: [number, number, number][] = [
  [512, 1024, 1024],
  [512, 1024, 4096],
  [512, 4096, 1024],
  [512, 512, 50272],
];
const LAYOUTS: MatmulLayout[] = ['nn', 'nt', 'tn'];
// Decoding's matrix-vector products (M = 1, 'nt': x·Wᵀ), timed as GB/s of weight streaming: the
// same projections and the LM head for one token.
export const GEMV_SHAPES: [number, number, number][] = [
  [1, 1024, 1024],
  [1, 1024, 4096],
  [1, 4096, 1024],
  [1, 512, 50272],
];
// About this many weight bytes per timed submit.
const BYTES_PER_BATCH = 1e9;
// About this many FLOPs per timed submit: long enough to dwarf submit overheads, short enough to
// keep the whole bench within minutes on lavapipe.
const FLOPS_PER_BATCH = 6e9;

function variantsOf(gpu: Gpu): MatmulVariant[] {
  return subgroupMatmulLanes(gpu).ok
    ? ['subgroup', 'subgroup-nt', 'tiled', 'gemv']
    : ['tiled', 'gemv'];
}

/** Every variant and layout against the float64 reference on shapes off the tiles, vec4 and scalar. */
async function validate(gpu: Gpu): Promise<void> {
  for (const variant of variantsOf(gpu)) {
    for (const layout of variant === 'gemv' ? (['nt'] as const) : LAYOUTS) {
      for (const [M, N, K] of variant === 'gemv' ? [[1, 45, 29], [4, 96, 68]] : [[37, 45, 29], [64, 96, 68]]) {
        const a = seededValues(M * K, 1);
        const b = seededValues(K * N, 2);
        const [ba, bb, bc] = [gpu.upload(a), gpu.upload(b), gpu.alloc(4 * M * N)];
        matmul(gpu, { a: ba, b: bb, c: bc, M, N, K, layout, variant });
        const err = relativeError(await gpu.readF32(bc, 0, M * N), matmulRef(a, b, M, N, K, layout));
        [ba, bb, bc].forEach((x) => gpu.release(x));
        if (!(err < 1e-5)) throw new Error(`bench: matmul ${variant} ${layout} ${M}x${N}x${K} is wrong (relative error ${err})`);
      }
    }
  }
}

/** B as IEEE halves packed two per u32 (matmul's bDtype 'f16'). */
function packF16(x: Float32Array): Uint32Array {
  const h = new Uint16Array(x.length + (x.length % 2));
  for (let i = 0; i < x.length; i++) h[i] = f32ToF16Bits(x[i]!);
  return new Uint32Array(h.buffer);
}

/** One decoding product x·Wᵀ by the default variant (gemv) or `variant`, B in f32 or f16, in GB/s of B read. */
async function timeGemv(gpu: Gpu, M: number, K: number, N: number, bDtype: 'f32' | 'f16', log: (line: string) => void, variant?: MatmulVariant): Promise<BenchRow> {
  const a = gpu.upload(seededValues(M * K, 3));
  const w = seededValues(N * K, 4);
  const b = gpu.upload(bDtype === 'f16' ? packF16(w) : w);
  const c = gpu.alloc(4 * M * N);
  const bytes = (bDtype === 'f16' ? 2 : 4) * N * K;
  const row = await benchKernel({
    name: `matmul ${variant ?? 'gemv'} (B ${bDtype})`,
    shape: `M=${M} K=${K} N=${N}`,
    layout: 'nt',
    run: () => matmul(gpu, { a, b, c, M, N, K, layout: 'nt', bDtype, variant }),
    target: gpuTarget(gpu),
    flops: 2 * M * N * K,
    bytes,
    iters: Math.max(2, Math.round(BYTES_PER_BATCH / bytes)),
    reps: 5,
  });
  [a, b, c].forEach((x) => gpu.release(x));
  log(`  ${row.kernel} ${row.shape}: ${row.gbps!.toFixed(1)} GB/s (${(row.ms * 1000).toFixed(0)} us)`);
  return row;
}

/** The decoding rows alone (also part of matmulBench). */
export async function gemvBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [M, K, N] of GEMV_SHAPES) for (const bDtype of ['f32', 'f16'] as const) rows.push(await timeGemv(gpu, M, K, N, bDtype, log));
  // What M = 1 cost before the gemv kernel: the tile kernel, 31 of its 32 rows wasted.
  const tile = variantsOf(gpu)[0]!;
  rows.push(await timeGemv(gpu, 1, 4096, 1024, 'f32', log, tile));
  return rows;
}

/** Operand shapes as stored, for a layout: A is [K, M] for tn, B is [N, K] for nt. */
function operands(M: number, K: number, N: number, layout: MatmulLayout): { aShape: [number, number]; bShape: [number, number] } {
  return { aShape: layout === 'tn' ? [K, M] : [M, K], bShape: layout === 'nt' ? [N, K] : [K, N] };
}

/** TF.js on its WebGPU backend, sharing nothing with kiln but the Dawn library; null (with why) if it cannot start. */
async function startTfjs(isSoftware: boolean): Promise<{ matMul: (M: number, K: number, N: number, layout: MatmulLayout) => { run: () => void; dispose: () => void }; target: BenchTarget } | string> {
  try {
    // tfjs-backend-webgpu finds WebGPU at navigator.gpu, which Node 20 lacks. The instance must stay
    // referenced while its devices live (see src/kernels/runtime/device.ts), hence the module-level keep.
    tfjsInstance ??= create([]);
    (globalThis as { navigator?: unknown }).navigator = { gpu: tfjsInstance };
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") returned false';
    await tf.ready();
    // The backend batches dispatches in an open compute pass; ending it before submitting is what
    // its own readback does.
    const backend = tf.backend() as unknown as { commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
    const flush = () => {
      if (!backend.commandEncoder) return;
      backend.endComputePassEncoder();
      backend.submitQueue();
    };
    return {
      matMul: (M, K, N, layout) => {
        const { aShape, bShape } = operands(M, K, N, layout);
        const a = tf.randomUniform(aShape, -1, 1);
        const b = tf.randomUniform(bShape, -1, 1);
        return {
          run: () => tf.matMul(a, b, layout === 'tn', layout === 'nt').dispose(),
          dispose: () => tf.dispose([a, b]),
        };
      },
      target: foreignTarget(backend.device, flush, isSoftware),
    };
  } catch (e) {
    return `TF.js WebGPU backend failed to start: ${(e as Error).message}`;
  }
}
let tfjsInstance: ReturnType<typeof create> | undefined;

/** The matmul rows: kiln's default variant on every OPT shape and layout, the other variant on one, TF.js on all. */
export async function matmulBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  await validate(gpu);
  log(`matmul: validated ${variantsOf(gpu).join(' and ')} variants in all layouts`);
  const rows: BenchRow[] = [];
  const target = gpuTarget(gpu);
  const shapeName = (M: number, K: number, N: number) => `M=${M} K=${K} N=${N}`;
  const timeKiln = async (M: number, K: number, N: number, layout: MatmulLayout, variant?: MatmulVariant) => {
    const { aShape, bShape } = operands(M, K, N, layout);
    const a = gpu.upload(seededValues(aShape[0] * aShape[1], 3));
    const b = gpu.upload(seededValues(bShape[0] * bShape[1], 4));
    const c = gpu.alloc(4 * M * N);
    const flops = 2 * M * N * K;
    const row = await benchKernel({
      name: `matmul${variant ? `-${variant}` : ''}`,
      shape: shapeName(M, K, N),
      layout,
      run: () => matmul(gpu, { a, b, c, M, N, K, layout, variant }),
      target,
      flops,
      iters: Math.max(1, Math.round(FLOPS_PER_BATCH / flops)),
    });
    [a, b, c].forEach((x) => gpu.release(x));
    log(`  ${row.kernel} ${row.shape} ${layout}: ${row.gflops!.toFixed(1)} GFLOP/s`);
    return row;
  };
  for (const [M, K, N] of OPT_SHAPES) for (const layout of LAYOUTS) rows.push(await timeKiln(M, K, N, layout));
  rows.push(...(await gemvBench(gpu, log)));
  const other: MatmulVariant = variantsOf(gpu)[0] === 'subgroup' && gpu.adapter.isSoftware ? 'tiled' : 'subgroup';
  if (variantsOf(gpu).includes(other)) rows.push(await timeKiln(512, 1024, 1024, 'nn', other));
  // The subgroup kernel in its own layout against a copy into 'nt', on the shapes of a training
  // step's dX ('nn') and dW ('tn', K = tokens).
  if (variantsOf(gpu).includes('subgroup-nt')) {
    for (const variant of ['subgroup', 'subgroup-nt'] as const) {
      rows.push(await timeKiln(512, 1024, 1024, 'nn', variant));
      rows.push(await timeKiln(1024, 512, 1024, 'tn', variant));
    }
  }

  const tfjs = await startTfjs(gpu.adapter.isSoftware);
  if (typeof tfjs === 'string') {
    log(`TF.js: ${tfjs}; its rows are skipped`);
    return rows;
  }
  for (const [M, K, N] of OPT_SHAPES) {
    for (const layout of LAYOUTS) {
      const op = tfjs.matMul(M, K, N, layout);
      const flops = 2 * M * N * K;
      const row = await benchKernel({
        name: 'tfjs-webgpu matMul',
        shape: shapeName(M, K, N),
        layout,
        run: op.run,
        target: tfjs.target,
        flops,
        iters: Math.max(1, Math.round(FLOPS_PER_BATCH / 4 / flops)),
        reps: flops > 1e10 ? 1 : 2,
      });
      op.dispose();
      const ours = rows.find((r) => r.kernel === 'matmul' && r.shape === row.shape && r.layout === layout);
      if (ours?.gflops && row.gflops) ours.note = `${(ours.gflops / row.gflops).toFixed(1)}x TF.js`;
      log(`  ${row.kernel} ${row.shape} ${layout}: ${row.gflops!.toFixed(1)} GFLOP/s`);
      rows.push(row);
    }
  }
  return rows;
}
