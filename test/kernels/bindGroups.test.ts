import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { Params } from '../../src/kernels/runtime/params.js';
import { useGpu } from '../helpers/gpu.js';
import { draws } from '../helpers/arbitraries.js';

const gpu = useGpu();

// out[p.i] = p.a + src[0]: each dispatch's parameters say where it writes and what, so a dispatch
// that read another's parameters, or another slice, leaves a wrong value behind.
const WRITE_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { i: u32, a: f32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(1) fn main() { out[p.i] = p.a + src[0]; }`;

function writeOne(g: Gpu, src: GPUBuffer | { buffer: GPUBuffer; offset: number; size: number }, out: GPUBuffer, i: number, a: number): void {
  g.dispatch({
    kernel: `writeOne(i=${i})`,
    pipeline: g.pipeline('writeOne', WRITE_ONE),
    bindings: [src, { buffer: out, size: out.size }],
    params: new Params().u32(i).f32(a).bytes(),
    workgroups: [1],
  });
}

describe('bind group reuse', () => {
  it('a repeated dispatch reuses its bind group and still computes the same result', async () => {
    const g = gpu();
    const src = g.upload(new Float32Array([0.5]));
    const out = g.alloc(16);
    const before = g.bindGroupStats();
    for (let r = 0; r < 3; r++) writeOne(g, src, out, 2, 4);
    const [value] = await g.readF32(out, 2, 1);
    const after = g.bindGroupStats();
    expect(value).toBe(4.5);
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(2);
    g.release(src);
    g.release(out);
  });

  it('dispatches in one batch keep their own parameters and slices, shuffled and repeated', async () => {
    const g = gpu();
    // Two sources in slices of one buffer (offsets 0 and 256, the binding alignment).
    const srcs = g.alloc(512);
    g.write(srcs, new Float32Array([1]), 0);
    g.write(srcs, new Float32Array([100]), 256);
    const slices = [0, 256].map((offset) => ({ buffer: srcs, offset, size: 4 }));
    const n = 64;
    const out = g.alloc(4 * n);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 40 }), async (writes) => {
        g.write(out, new Float32Array(n));
        const want = new Float32Array(n);
        for (const [i, a, s] of writes) {
          writeOne(g, slices[s], out, i, a);
          want[i] = a + (s === 0 ? 1 : 100);
        }
        expect(Array.from(await g.readF32(out, 0, n))).toEqual(Array.from(want));
      }),
      { numRuns: draws(30) },
    );
    g.release(srcs);
    g.release(out);
  });

  it('more distinct parameters than the cache holds: it empties itself after a submit and every dispatch keeps its own', async () => {
    const g = gpu();
    const src = g.upload(new Float32Array([0]));
    // 4,096 parameter slots by default: 5,000 distinct parameter blocks in one batch overflow them.
    const n = 5000;
    const out = g.alloc(4 * n);
    const before = g.bindGroupStats();
    for (let i = 0; i < n; i++) writeOne(g, src, out, i, i * 0.25 - 7);
    const got = await g.readF32(out, 0, n);
    expect(g.bindGroupStats().resets - before.resets).toBeGreaterThanOrEqual(1);
    const wrong = Array.from(got).flatMap((v, i) => (v === i * 0.25 - 7 ? [] : [[i, v]]));
    expect(wrong).toEqual([]);
    g.release(src);
    g.release(out);
  });
});
