import { availableParallelism } from 'node:os';
import { runAnchor, type Anchor, type AnchorFacts } from './anchors.js';
import type { BenchRow } from './harness.js';
import { OPT_SHAPES } from './matmul.js';

/**
 * The matmul anchors of bench:kernels, on kiln's OPT shapes and layouts, measured in the same run:
 * numpy's sgemm (its OpenBLAS) on this host's CPU, and on a CUDA card torch's fp32 (TF32 off) and
 * fp16 matmuls. Each kiln matmul row then notes its ratio to them. numpy uses every core, as
 * lavapipe does.
 */
interface MatmulAnchorRows extends AnchorFacts {
  rows: { shape: string; layout: string; dtype?: string; ms: number; gflops: number; cpu_gflops?: number | null }[];
  blas?: { architecture?: string; internal_api?: string; num_threads?: number }[];
  threadpoolctl?: string;
}

const shapesArg = () => OPT_SHAPES.map(([M, K, N]) => `${M}x${K}x${N}`).join(',');

export interface MatmulAnchors {
  numpy: Anchor<MatmulAnchorRows>;
  torch: Anchor<MatmulAnchorRows>;
}

export function runMatmulAnchors(log: (line: string) => void): MatmulAnchors {
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this host for older OpenBLAS builds, and
  // force a current one onto a slower kernel: removed for this child only, and the kernel it then
  // runs is reported.
  const cores = String(availableParallelism());
  const numpy = runAnchor<MatmulAnchorRows>('numpy_sgemm.py', ['numpy'], ['--shapes', shapesArg(), '--layouts', 'nn,nt,tn', '--threads', cores], {
    OPENBLAS_CORETYPE: undefined,
    OPENBLAS_L2_SIZE: undefined,
    OPENBLAS_NUM_THREADS: cores,
  });
  log(numpy.measured ? `numpy sgemm: BLAS kernel ${blasKernel(numpy.result)}` : `numpy sgemm: not measured (${numpy.reason})`);
  const torch = runAnchor<MatmulAnchorRows>('torch_matmul.py', ['torch'], ['--shapes', shapesArg(), '--layouts', 'nn,nt,tn']);
  if (!torch.measured) log(`torch matmul: not measured (${torch.reason})`);
  return { numpy, torch };
}

/** "openblas SkylakeX, 2 threads (threadpoolctl 3.5.0)", or why it is unknown. */
export function blasKernel(r: MatmulAnchorRows): string {
  const b = r.blas?.[0];
  if (!b) return `unknown (threadpoolctl: ${r.threadpoolctl ?? 'not reported'})`;
  const how = r.threadpoolctl === 'not importable' ? 'asked of OpenBLAS directly; threadpoolctl not importable' : `threadpoolctl ${r.threadpoolctl}`;
  return `${b.internal_api ?? 'BLAS'} ${b.architecture ?? '?'}${b.num_threads ? `, ${b.num_threads} threads` : ''} (${how})`;
}

/** The anchors as bench rows, and each kiln 'matmul' row's note extended with its ratio to them. */
export function matmulAnchorRows(anchors: MatmulAnchors, kilnRows: BenchRow[]): BenchRow[] {
  const out: BenchRow[] = [];
  const add = (a: Anchor<MatmulAnchorRows>, name: (dtype?: string) => string, tag: (dtype?: string) => string) => {
    if (!a.measured) return;
    for (const r of a.result.rows) {
      out.push({ kernel: name(r.dtype), shape: r.shape, layout: r.layout, ms: r.ms, minMs: r.ms, gflops: r.gflops, cpuGflops: r.cpu_gflops ?? undefined });
      const ours = kilnRows.find((k) => k.kernel === 'matmul' && k.shape === r.shape && k.layout === r.layout);
      if (!ours?.gflops) continue;
      // On a shared host wall times are noise; where both sides have a CPU-time estimate, that ratio is given too.
      const cpu = ours.cpuGflops && r.cpu_gflops ? ` (cpu-est ${(ours.cpuGflops / r.cpu_gflops).toFixed(2)}x)` : '';
      ours.note = [ours.note, `${(ours.gflops / r.gflops).toFixed(2)}x ${tag(r.dtype)}${cpu}`].filter(Boolean).join(', ');
    }
  };
  add(anchors.numpy, () => 'numpy sgemm (CPU)', () => 'numpy');
  add(anchors.torch, (d) => `torch ${d} (CUDA)`, (d) => `torch ${d}`);
  return out;
}
