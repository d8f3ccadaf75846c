import { Gpu } from '../src/kernels/runtime/device.js';
import { matmul, SUBGROUP_CV, SUBGROUP_TM, subgroupMatmulGrid, subgroupMatmulLanes, subgroupMatmulWgsl, type MatmulLayout } from '../src/kernels/matmul/index.js';
import { Params } from '../src/kernels/runtime/params.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { matmulRef } from '../test/reference/matmul.js';
import { benchKernel, formatTable, gpuTarget, relativeError, type BenchRow } from './harness.js';

/**
 * `node dist/bench/matmulVariants.js [M,K,N] [layout] [--tiles | --ceiling] [--rounds R]`: lavapipe's subgroup
 * matmul side by side, each candidate validated and then timed in R interleaved rounds (the
 * machine is shared: medians, and read the cpu-est column). By default: the kernel in the given
 * layout against 'subgroup-nt' (a transposed copy into 'nt' first), which decides
 * RELAYOUT_NN_MIN_K and RELAYOUT_TN_MIN_MN in src/kernels/matmul/defaultVariant.ts. With --tiles: the kernel's tile
 * shapes (rows per lane TM, vec4 column groups per lane CV), kept as SUBGROUP_TM / SUBGROUP_CV.
 *
 * The tiles' and the copies' measurements: docs/lavapipe-speed.md.
 */
const TILES: [number, number][] = [[8, 1], [16, 1], [32, 1], [16, 2], [32, 2], [64, 1]];

const positional = process.argv.slice(2).filter((x, i, all) => !x.startsWith('--') && all[i - 1] !== '--rounds');
const [M, K, N] = (positional[0] ?? '512,1024,1024').split(',').map(Number);
const layout = (positional[1] ?? 'nn') as MatmulLayout;
const tiles = process.argv.includes('--tiles');
const ceiling = process.argv.includes('--ceiling');
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : 3;
const gpu = await Gpu.create();
const subgroupLanes = subgroupMatmulLanes(gpu);
if (!subgroupLanes.ok) throw new Error(`matmulVariants: ${subgroupLanes.why}`);
const SG = subgroupLanes.lanes;
if ([M, K, N].some((x) => x % 4 !== 0)) throw new Error('matmulVariants: M, K, N must be multiples of 4 (the vec4 shader)');
const a = seededValues(M * K, 1);
const b = seededValues(K * N, 2);
const [ba, bb, bc] = [gpu.upload(a), gpu.upload(b), gpu.alloc(4 * M * N)];
// The float64 reference takes minutes at the LM head's sizes: those are validated by the tests.
const want = M * N * K <= 2 ** 31 ? matmulRef(a, b, M, N, K, layout) : null;

interface Candidate {
  name: string;
  run: () => void;
  /** Computes something other than the product on purpose (--ceiling). */
  synthetic?: boolean;
}

/**
 * The kernel's source with every `let x = A[...]` (or B) replaced by a vec4 made from k, the lane
 * and the line's position, so that no two are alike and none can be folded or shared. `_ = A[0]`
 * keeps the binding in the pipeline's layout.
 */
function withoutLoads(code: string, operands: ('A' | 'B')[]): string {
  let replaced = 0;
  const out = code.replace(/^(\s*let \w+ = )([AB])\[.*\];$/gm, (line, head: string, x: 'A' | 'B') => {
    if (!operands.includes(x)) return line;
    replaced++;
    return `${head}vec4f(f32(k + ${replaced}u), f32(lane), f32(k), 1.0) * 1e-3;`;
  });
  if (replaced === 0) throw new Error(`matmulVariants: no load of ${operands.join(', ')} found to replace in the kernel`);
  return out.replace(/\) \{\n/, `) {\n  ${operands.map((x) => `_ = ${x}[0];`).join(' ')}\n`);
}

const subgroupCandidate = (name: string, code: string, TM: number, CV: number, synthetic = false): Candidate => {
  const pipeline = gpu.pipeline(`matmul-variant(${name})`, code);
  const run = () =>
    gpu.dispatch({
      kernel: `matmul-variant(${name})`,
      pipeline,
      bindings: [{ buffer: ba, size: 4 * M * K }, { buffer: bb, size: 4 * K * N }, { buffer: ba, size: 4 }, { buffer: bc, size: 4 * M * N }],
      params: new Params().u32(M).u32(N).u32(K).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).f32(1).u32(0).bytes(),
      workgroups: subgroupMatmulGrid(M, N, 1, TM, SG, CV),
    });
  return { name, run, synthetic };
};

const candidates: Candidate[] = [];
if (tiles) {
  for (const [TM, CV] of TILES.filter(([TM]) => TM % SG === 0)) {
    candidates.push(subgroupCandidate(`subgroup TM=${TM} CV=${CV}`, subgroupMatmulWgsl({ layout, vec: true }, TM, SG, CV), TM, CV));
  }
} else if (ceiling) {
  const [TM, CV] = [SUBGROUP_TM, SUBGROUP_CV];
  const code = subgroupMatmulWgsl({ layout, vec: true }, TM, SG, CV);
  candidates.push(subgroupCandidate('subgroup (shipped tile)', code, TM, CV));
  for (const operands of [['A'], ['B'], ['A', 'B']] as ('A' | 'B')[][]) {
    candidates.push(subgroupCandidate(`no loads of ${operands.join(' or ')}`, withoutLoads(code, operands), TM, CV, true));
  }
} else {
  for (const variant of ['subgroup', 'subgroup-nt'] as const) {
    candidates.push({ name: variant, run: () => matmul(gpu, { a: ba, b: bb, c: bc, M, N, K, layout, variant }) });
  }
}

const notes = new Map<string, string>();
for (const { name, run, synthetic } of candidates) {
  const compileStart = performance.now();
  run();
  const got = await gpu.readF32(bc, 0, M * N);
  const compileMs = performance.now() - compileStart;
  const err = want && !synthetic ? relativeError(got, want) : 0;
  if (!(err < 1e-5)) throw new Error(`matmulVariants: ${name} is wrong (relative error ${err})`);
  notes.set(name, `first call (compile) ${compileMs.toFixed(0)} ms${synthetic ? ', synthetic operands: a bound, not a product' : want ? '' : ', not validated'}`);
}
const timed = new Map<string, BenchRow[]>(candidates.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const { name, run } of candidates) {
    const iters = Math.max(1, Math.round(3e9 / (2 * M * N * K)));
    const row = await benchKernel({ name, shape: `M=${M} K=${K} N=${N}`, layout, run, target: gpuTarget(gpu), flops: 2 * M * N * K, iters, reps: 2 });
    timed.get(name)!.push(row);
    process.stderr.write(`round ${r}: ${name}: ${row.gflops!.toFixed(1)} GFLOP/s (cpu-est ${row.cpuGflops?.toFixed(1)})\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const rows = candidates.map(({ name }): BenchRow => {
  const rs = timed.get(name)!;
  const ms = median(rs.map((r) => r.ms));
  const cpu = rs.map((r) => r.cpuGflops).filter((x): x is number => x !== undefined);
  return {
    ...rs[0]!,
    ms,
    minMs: Math.min(...rs.map((r) => r.minMs)),
    gflops: (2 * M * N * K) / ms / 1e6,
    cpuGflops: cpu.length ? median(cpu) : undefined,
    note: notes.get(name),
  };
});
[ba, bb, bc].forEach((x) => gpu.release(x));
gpu.destroy();
console.log(formatTable(rows));
