import { describe, expect, it } from 'vitest';
import { add } from '../../src/kernels/elementwise.js';
import { matmul } from '../../src/kernels/matmul/matmul.js';
import { kernelKind } from '../../src/kernels/runtime/profiler.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';

const gpu = useGpu();

describe('kernel profiler', () => {
  it('names a kernel kind by dropping every key=value argument', () => {
    expect(kernelKind('matmul-subgroup(nt-vec4,M=512,N=1024,K=1024,batch=1,flags=0)')).toBe('matmul-subgroup(nt-vec4)');
    expect(kernelKind('layerNormForward(rows=512,cols=1024)')).toBe('layerNormForward');
    expect(kernelKind('matmul-gemv(nt-vec4-f16,MT=8,M=1,N=4,K=8,batch=1,flags=0)')).toBe('matmul-gemv(nt-vec4-f16)');
    expect(kernelKind('out-of-range-probe')).toBe('out-of-range-probe');
  });

  it('counts every dispatch, across batches larger than one query set, and times them inside the wall time', async (ctx) => {
    const g = gpu();
    if (!g.features.timestampQuery) ctx.skip();
    const n = 1 << 16;
    const x = uploadF32(g, new Float32Array(n).fill(1));
    const out = g.alloc(4 * n);
    const [M, K, N] = [64, 96, 80];
    const a = uploadF32(g, new Float32Array(M * K).fill(0.5));
    const b = uploadF32(g, new Float32Array(K * N).fill(2));
    const c = g.alloc(4 * M * N);
    await g.sync();
    const t0 = performance.now();
    g.startProfiling();
    // 2500 adds: more than the 2048 dispatches one query set holds, so the batch is split.
    for (let i = 0; i < 2500; i++) add(g, x, x, out, n);
    for (let i = 0; i < 3; i++) matmul(g, { a, b, c, M, N, K, layout: 'nt' });
    const times = await g.stopProfiling();
    const wall = performance.now() - t0;
    const byKind = new Map(times.map((t) => [t.kernel, t]));
    expect(byKind.get('axpby')?.calls).toBe(2500);
    const matmuls = times.filter((t) => t.kernel.startsWith('matmul'));
    expect(matmuls.reduce((s, t) => s + t.calls, 0)).toBe(3);
    for (const t of times) expect(t.ms).toBeGreaterThan(0);
    // Not rounded to Dawn's default 65,536 ns quantum (2500 adds summing to whole quanta by chance: ~1e-5).
    expect(Math.round(byKind.get('axpby')!.ms * 1e6) % 65536).not.toBe(0);
    expect(times.reduce((s, t) => s + t.ms, 0)).toBeLessThan(wall);
    // Slowest first, and the results still right while profiled.
    expect(times.map((t) => t.ms)).toEqual([...times.map((t) => t.ms)].sort((p, q) => q - p));
    expect((await g.readF32(out, 0, 4)).every((v) => v === 2)).toBe(true);
    expect((await g.readF32(c, 0, 4)).every((v) => v === K)).toBe(true);
    // Profiling stopped: later work is not timed, and stopping twice is an error.
    await expect(g.stopProfiling()).rejects.toThrow(/without startProfiling/);
    for (const buf of [x, out, a, b, c]) g.release(buf);
  });
});
