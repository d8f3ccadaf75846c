import { Gpu } from '../src/kernels/runtime/device.js';
import { scale } from '../src/kernels/elementwise.js';
import { matmul } from '../src/kernels/matmul/matmul.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { benchKernel, COPY_KERNEL, gpuTarget, type BenchRow } from './harness.js';

/** copyBufferToBuffer bandwidth, the ceiling for memory-bound kernels (read + write bytes counted), and a shader's copy beside it. */
export async function copyBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  const bytes = 64 << 20;
  const src = gpu.alloc(bytes, 'bench-copy-src');
  const dst = gpu.alloc(bytes, 'bench-copy-dst');
  gpu.write(src, new Uint8Array(bytes).fill(7));
  const row = await benchKernel({
    name: COPY_KERNEL,
    shape: '64 MiB',
    run: () => gpu.copy(src, 0, dst, 0, bytes),
    target: gpuTarget(gpu),
    bytes: 2 * bytes,
    iters: 8,
  });
  const back = new Uint8Array(await gpu.read(dst, bytes - 16, 16));
  if (back.some((x) => x !== 7)) throw new Error('bench: copyBufferToBuffer copied the wrong bytes');
  log(`  copy: ${row.gbps!.toFixed(1)} GB/s`);
  // The same bytes through a shader that reads and writes each element once: the most any
  // memory-bound kernel can reach on this adapter, which on lavapipe is well under the copy.
  const n = bytes / 4;
  gpu.write(src, new Float32Array(n).fill(2));
  const shader = await benchKernel({
    name: 'scale (a WGSL copy)',
    shape: '64 MiB',
    run: () => scale(gpu, src, dst, n, 1.5),
    target: gpuTarget(gpu),
    bytes: 2 * bytes,
    iters: 8,
  });
  const last = await gpu.readF32(dst, n - 4, 4);
  if (last.some((x) => x !== 3)) throw new Error('bench: scale wrote the wrong values');
  gpu.release(src);
  gpu.release(dst);
  log(`  scale: ${shader.gbps!.toFixed(1)} GB/s`);
  return [row, shader];
}

/**
 * What a dispatch costs besides its work: a scale of 4 floats (one workgroup), 1,000 to a submit,
 * recording on the host included. On lavapipe this fixed cost keeps the small memory-bound kernels
 * of a training step well below the bandwidth they reach on large buffers.
 */
export async function dispatchBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  const x = gpu.upload(new Float32Array([1, 2, 3, 4]));
  const y = gpu.alloc(16);
  const row = await benchKernel({ name: 'dispatch (scale of 4 floats)', shape: '1000 per submit', run: () => scale(gpu, x, y, 4, 2), target: gpuTarget(gpu), iters: 1000 });
  const back = await gpu.readF32(y, 0, 4);
  if (back.some((v, i) => v !== 2 * (i + 1))) throw new Error('bench: scale of 4 floats wrote the wrong values');
  gpu.release(x);
  gpu.release(y);
  row.note = `${(row.ms * 1000).toFixed(0)} µs per dispatch`;
  log(`  one dispatch: ${row.note}`);
  return [row];
}

/**
 * The runtime's waiting design, measured: one matmul per submit, the host waiting for each before
 * the next, (a) through gpu.sync(), which throttles Dawn's polling to a timer (src/kernels/runtime/waiting.ts),
 * and (b) awaiting Dawn's completion promise directly (its Node bindings then spin on the main
 * thread until the work is done).
 */
export async function waitingBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  const [M, K, N] = [512, 1024, 4096];
  const a = gpu.upload(seededValues(M * K, 5));
  const b = gpu.upload(seededValues(N * K, 6));
  const c = gpu.alloc(4 * M * N);
  const flops = 2 * M * N * K;
  const run = () => matmul(gpu, { a, b, c, M, N, K, layout: 'nt' });
  const rounds = 10;
  const rows: BenchRow[] = [];
  run();
  await gpu.sync(); // the pipeline compile
  for (const mode of ['gpu.sync() (throttled polling)', 'await onSubmittedWorkDone directly (spinning)'] as const) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      run();
      if (mode.startsWith('gpu.sync')) {
        await gpu.sync();
      } else {
        gpu.flush();
        await gpu.device.queue.onSubmittedWorkDone();
      }
      times.push(performance.now() - t0);
    }
    await gpu.sync();
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(rounds / 2)];
    rows.push({ kernel: 'matmul, one submit + wait each', shape: `M=${M} K=${K} N=${N}`, layout: 'nt', ms, minMs: times[0], gflops: flops / ms / 1e6, note: mode });
    log(`  waiting via ${mode}: ${(flops / ms / 1e6).toFixed(1)} GFLOP/s`);
  }
  [a, b, c].forEach((x) => gpu.release(x));
  return rows;
}

/**
 * Dawn's robust buffer access, on and off (src/kernels/runtime/device.ts, DRIVER_CHECKS_BOUNDS): the
 * subgroup matmuls on this device and on a second one with the other setting, in alternating rounds
 * so that both see the same machine.
 */
export async function robustnessBench(gpu: Gpu, log: (line: string) => void): Promise<BenchRow[]> {
  const other = await Gpu.create({ robustness: !gpu.adapter.robustness });
  const [M, K, N] = [512, 1024, 1024];
  const devices = [gpu, other].map((g) => ({ g, a: g.upload(seededValues(M * K, 7)), b: g.upload(seededValues(N * K, 8)), c: g.alloc(4 * M * N), times: new Map<string, number[]>() }));
  const rows: BenchRow[] = [];
  // Five rounds: at three, one busy moment of the machine could still set a median (nn read 29.7
  // GFLOP/s without robustness against 42.6 with it in one run, 53-55 against 41-47 in others).
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    for (const d of round % 2 ? [...devices].reverse() : devices) {
      for (const layout of ['nn', 'nt'] as const) {
        const row = await benchKernel({
          name: 'matmul',
          shape: `M=${M} K=${K} N=${N}`,
          layout,
          run: () => matmul(d.g, { a: d.a, b: d.b, c: d.c, M, N, K, layout }),
          target: gpuTarget(d.g),
          iters: 5,
          reps: 1,
        });
        d.times.set(layout, [...(d.times.get(layout) ?? []), row.ms]);
      }
    }
  }
  for (const d of devices) {
    for (const [layout, times] of d.times) {
      times.sort((x, y) => x - y);
      const ms = times[Math.floor(rounds / 2)];
      const note = `Dawn robustness ${d.g.adapter.robustness ? 'on' : 'off'}${d.g === gpu ? ' (default)' : ''}`;
      // Named apart from the matmul family's rows, which the anchors and gpu-check's table look up by kernel name.
      rows.push({ kernel: 'matmul (robustness)', shape: `M=${M} K=${K} N=${N}`, layout, ms, minMs: times[0], gflops: (2 * M * N * K) / ms / 1e6, note });
      log(`  matmul ${layout}, ${note}: ${((2 * M * N * K) / ms / 1e6).toFixed(1)} GFLOP/s`);
    }
    [d.a, d.b, d.c].forEach((x) => d.g.release(x));
  }
  other.destroy();
  return rows;
}
