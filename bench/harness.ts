import type { Gpu } from '../src/kernels/runtime/device.js';
import type { KernelTime } from '../src/kernels/runtime/profiler.js';
import { waitForDawn } from '../src/kernels/runtime/waiting.js';

/**
 * The shared timing loop for kernel benchmarks. A family file (bench/matmul.ts, ...) validates its
 * kernels on a small case against a reference, then calls `benchKernel` per shape; bench/kernels.ts
 * runs the families listed in its registry and prints and saves the rows.
 */
export interface BenchRow {
  kernel: string;
  shape: string;
  layout?: string;
  /** Median milliseconds per call. */
  ms: number;
  /** Fastest milliseconds per call. */
  minMs: number;
  gflops?: number;
  gbps?: number;
  /**
   * Work per CPU-second of this process times the core count: on lavapipe (where the "GPU" is this
   * process's threads) an estimate of the throughput on an otherwise idle machine, unaffected by
   * other processes sharing the cores. Absent on hardware GPUs, where it means nothing.
   */
  cpuGflops?: number;
  /** The same estimate for GB/s: on a shared lavapipe machine, the steadier measure of a memory-bound kernel. */
  cpuGbps?: number;
  /** Free-form: a comparison (TF.js ratio), a note on the variant. */
  note?: string;
  /** A memory-bound kernel's GB/s over copyBufferToBuffer's, measured in the same run (see markCopyFraction). */
  ofCopy?: number;
}

/**
 * How to submit recorded work and learn when it is done, for the device under test. `done` must
 * wait the way kiln does (waitForDawn): on lavapipe a spinning wait takes a core from the shader
 * threads, and whichever library waited that way would look half as fast.
 */
export interface BenchTarget {
  flush(): void;
  done(): Promise<void>;
  /** lavapipe: CPU time of this process is device time. */
  cpuIsDevice: boolean;
}

/** kiln's own runtime as a bench target; `done` also throws any GPU error the batch caused. */
export function gpuTarget(gpu: Gpu): BenchTarget {
  return { flush: () => gpu.flush(), done: () => gpu.sync(), cpuIsDevice: gpu.adapter.isSoftware };
}

/** A target for another library on `device` (TF.js), waiting as kiln does. */
export function foreignTarget(device: GPUDevice, flush: () => void, isSoftware: boolean): BenchTarget {
  return { flush, done: () => waitForDawn(isSoftware, () => device.queue.onSubmittedWorkDone()), cpuIsDevice: isSoftware };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Times `run` (which records one call of the kernel): one warm-up call (pipeline compile), then
 * `reps` batches of `iters` calls, each batch one submit and one wait.
 */
export async function benchKernel(opts: {
  name: string;
  shape: string;
  layout?: string;
  run: () => void;
  target: BenchTarget;
  flops?: number;
  bytes?: number;
  iters: number;
  reps?: number;
  note?: string;
}): Promise<BenchRow> {
  const { run, target, iters, reps = 3 } = opts;
  run();
  target.flush();
  await target.done();
  const times: number[] = [];
  let cpuMs = Infinity;
  for (let r = 0; r < reps; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) run();
    target.flush();
    await target.done();
    const ms = (performance.now() - t0) / iters;
    const cpu = process.cpuUsage(cpu0);
    cpuMs = Math.min(cpuMs, (cpu.user + cpu.system) / 1000 / iters);
    times.push(ms);
  }
  const ms = median(times);
  const cores = (await import('node:os')).availableParallelism();
  const row: BenchRow = { kernel: opts.name, shape: opts.shape, layout: opts.layout, ms, minMs: Math.min(...times), note: opts.note };
  if (opts.flops) {
    row.gflops = opts.flops / ms / 1e6;
    if (target.cpuIsDevice) row.cpuGflops = (opts.flops / cpuMs / 1e6) * cores;
  }
  if (opts.bytes) {
    row.gbps = opts.bytes / ms / 1e6;
    if (target.cpuIsDevice) row.cpuGbps = (opts.bytes / cpuMs / 1e6) * cores;
  }
  return row;
}

/** The kernel name of copyBufferToBuffer's row (bench/runtime.ts): the bandwidth ceiling. */
export const COPY_KERNEL = 'copyBufferToBuffer';

/**
 * Sets `ofCopy` on every memory-bound row (GB/s and no GFLOP/s): its GB/s over the fastest
 * copyBufferToBuffer timed in the same run. The fastest, because on a shared machine a copy timed
 * while others load the cores would flatter every kernel compared with it.
 */
export function markCopyFraction(rows: BenchRow[]): BenchRow[] {
  const copy = Math.max(0, ...rows.filter((r) => r.kernel === COPY_KERNEL).map((r) => r.gbps ?? 0));
  if (copy === 0) return rows;
  for (const r of rows) if (r.kernel !== COPY_KERNEL && r.gbps !== undefined && r.gflops === undefined) r.ofCopy = r.gbps / copy;
  return rows;
}

/** A fixed-width table of rows for the terminal. */
export function formatTable(rows: BenchRow[]): string {
  const cols: [string, (r: BenchRow) => string][] = [
    ['kernel', (r) => r.kernel],
    ['shape', (r) => r.shape],
    ['layout', (r) => r.layout ?? ''],
    ['ms', (r) => r.ms.toFixed(2)],
    ['GFLOP/s', (r) => (r.gflops === undefined ? '' : r.gflops.toFixed(1))],
    ['GB/s', (r) => (r.gbps === undefined ? '' : r.gbps.toFixed(1))],
    ['of copy', (r) => (r.ofCopy === undefined ? '' : `${(100 * r.ofCopy).toFixed(0)}%`)],
    ['cpu-est GFLOP/s', (r) => (r.cpuGflops === undefined ? '' : r.cpuGflops.toFixed(1))],
    ['cpu-est GB/s', (r) => (r.cpuGbps === undefined ? '' : r.cpuGbps.toFixed(1))],
    ['note', (r) => r.note ?? ''],
  ];
  const cells = rows.map((r) => cols.map(([, f]) => f(r)));
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map(([h]) => h)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Largest |got - want| relative to max |want|, for the validation step before timing. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/**
 * Where a profiled stretch of work spent its GPU time (Gpu.stopProfiling): a markdown table of the
 * kinds of kernel, slowest first, the tail summed into one row.
 */
export function formatProfile(title: string, kernels: KernelTime[], wallMs: number): string {
  const total = kernels.reduce((s, k) => s + k.ms, 0);
  const shown = kernels.slice(0, 24);
  const rest = kernels.slice(24);
  const line = (name: string, calls: number, ms: number) => `| ${name} | ${calls} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)}% |`;
  const lines = ['', `${title}: ${total.toFixed(0)} ms of kernels on the GPU's clock, ${wallMs.toFixed(0)} ms wall.`, '', '| kernel | calls | ms | share |', '|---|---|---|---|'];
  for (const k of shown) lines.push(line(k.kernel, k.calls, k.ms));
  if (rest.length > 0) lines.push(line(`${rest.length} more kinds`, rest.reduce((s, k) => s + k.calls, 0), rest.reduce((s, k) => s + k.ms, 0)));
  return `${lines.join('\n')}\n`;
}
