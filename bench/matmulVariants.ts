import { Gpu } from '../src/kernels/device.js';
import { subgroupMatmulWgsl } from '../src/kernels/matmul.js';
import { Params } from '../src/kernels/params.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { matmulRef } from '../test/reference/matmul.js';
import { benchKernel, formatTable, gpuTarget, relativeError, type BenchRow } from './harness.js';

/**
 * `node dist/bench/matmulVariants.js [M,K,N] [layout]`: the subgroup matmul's tile shapes side by
 * side (rows per lane TM, vec4 column groups per lane CV), each validated and then timed. The
 * library keeps the winner as SUBGROUP_TM / SUBGROUP_CV in src/kernels/matmul.ts.
 *
 * Measured on lavapipe (2 cores, subgroup 8, a busy machine, so read the cpu-est column), nn
 * 512x1024x1024: TM 32 CV 1: 43-49; TM 32 CV 2: 41; TM 64 CV 1: 41; TM 16 CV 1: 46; TM 16 CV 2:
 * 38; TM 8 CV 1: 35 GFLOP/s per 2 CPU-seconds. With subgroup 16 (LP_NATIVE_VECTOR_WIDTH=512): TM 32
 * CV 1: 45; TM 16 CV 1: 40. Larger blocks load fewer elements per FMA but spill accumulators and
 * compile for 10-25 s instead of 1-3 s.
 */
const TILES: [number, number][] = [[8, 1], [16, 1], [32, 1], [16, 2], [32, 2], [64, 1]];

const [M, K, N] = (process.argv[2] ?? '512,1024,1024').split(',').map(Number);
const layout = (process.argv[3] ?? 'nn') as 'nn' | 'nt' | 'tn';
const gpu = await Gpu.create();
const SG = gpu.adapter.subgroupMinSize;
if (!gpu.features.subgroups || SG !== gpu.adapter.subgroupMaxSize) throw new Error('matmulVariants: needs subgroups of one fixed size');
if ([M, K, N].some((x) => x % 4 !== 0)) throw new Error('matmulVariants: M, K, N must be multiples of 4 (the vec4 shader)');
const a = seededValues(M * K, 1);
const b = seededValues(K * N, 2);
const [ba, bb, bc] = [gpu.upload(a), gpu.upload(b), gpu.alloc(4 * M * N)];
const want = matmulRef(a, b, M, N, K, layout);
const rows: BenchRow[] = [];
for (const [TM, CV] of TILES.filter(([TM]) => TM % SG === 0)) {
  const pipeline = gpu.pipeline(`matmul-variant(TM=${TM},CV=${CV})`, subgroupMatmulWgsl({ layout, vec: true }, TM, SG, CV));
  const run = () =>
    gpu.dispatch({
      kernel: `matmul-variant(TM=${TM},CV=${CV})`,
      pipeline,
      bindings: [{ buffer: ba, size: 4 * M * K }, { buffer: bb, size: 4 * K * N }, { buffer: ba, size: 4 }, { buffer: bc, size: 4 * M * N }],
      params: new Params().u32(M).u32(N).u32(K).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).f32(1).u32(0).bytes(),
      workgroups: [Math.ceil(N / (4 * SG * CV)), Math.ceil(M / TM)],
      cost: { flops: 2 * M * N * K },
    });
  const compileStart = performance.now();
  run();
  const err = relativeError(await gpu.readF32(bc, 0, M * N), want);
  const compileMs = performance.now() - compileStart;
  if (!(err < 1e-5)) throw new Error(`matmulVariants: TM=${TM} CV=${CV} is wrong (relative error ${err})`);
  const row = await benchKernel({ name: `subgroup TM=${TM} CV=${CV}`, shape: `M=${M} K=${K} N=${N}`, layout, run, target: gpuTarget(gpu), flops: 2 * M * N * K, iters: 4 });
  row.note = `first call (compile) ${compileMs.toFixed(0)} ms`;
  rows.push(row);
  process.stderr.write(`${row.kernel}: ${row.gflops!.toFixed(1)} GFLOP/s\n`);
}
[ba, bb, bc].forEach((x) => gpu.release(x));
gpu.destroy();
console.log(formatTable(rows));
