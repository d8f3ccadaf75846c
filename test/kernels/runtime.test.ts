import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/kernels/runtime/buffers.js';
import { Gpu } from '../../src/kernels/runtime/device.js';
import { add } from '../../src/kernels/elementwise.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';

const gpu = useGpu();

describe('Gpu runtime', () => {
  it('reports what the device granted', () => {
    const g = gpu();
    expect(g.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(typeof g.features.f16).toBe('boolean');
    expect(g.adapter.description.length).toBeGreaterThan(0);
  });

  it('a script that runs a kernel exits by itself once it finishes', () => {
    const entry = join(repoRoot, 'dist', 'src', 'kernels', 'index.js');
    expect(existsSync(entry), 'dist/ is missing: `npm test` builds it first').toBe(true);
    const script = `
      import { Gpu, add } from ${JSON.stringify(entry)};
      const gpu = await Gpu.create();
      const x = gpu.upload(new Float32Array([1, 2, 3]));
      const out = gpu.alloc(12);
      add(gpu, x, x, out, 3);
      const r = await gpu.readF32(out, 0, 3);
      gpu.destroy();
      console.log(JSON.stringify([...r]));
    `;
    // A process kept alive by the device would be killed at the timeout (status null, a signal).
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, `exit ${child.status} signal ${child.signal}: ${child.stderr}`).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual([2, 4, 6]);
  });

  it('a script that creates and destroys a device without running any work exits cleanly', () => {
    const entry = join(repoRoot, 'dist', 'src', 'kernels', 'index.js');
    // Dropping Dawn's instance right after destroying an idle device once segfaulted at exit.
    const script = `import { Gpu } from ${JSON.stringify(entry)}; const gpu = await Gpu.create(); gpu.destroy();`;
    for (let i = 0; i < 3; i++) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(child.status, `exit ${child.status} signal ${child.signal}: ${child.stderr}`).toBe(0);
    }
  });

  it('a binding over maxStorageBufferBindingSize throws an error naming the kernel', () => {
    const g = gpu();
    const limit = g.limits.maxStorageBufferBindingSize;
    const n = limit / 4 + 64;
    const big = g.alloc(n * 4, 'too-big');
    try {
      expect(() => add(g, big, big, big, n)).toThrow(/kernel axpby\(n=\d+\).*maxStorageBufferBindingSize/);
    } finally {
      g.release(big);
    }
  });

  it('a GPU validation error inside a batch becomes a thrown Error naming the kernel', async () => {
    const g = gpu();
    // The WGSL declares a binding the dispatch does not provide: Dawn rejects the bind group.
    const pipeline = g.pipeline(
      'broken-kernel',
      `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
       @group(0) @binding(1) var<storage, read_write> y: array<f32>;
       @compute @workgroup_size(1) fn main() { x[0] = y[0]; }`,
    );
    const x = uploadF32(g, [1]);
    g.dispatch({ kernel: 'broken-kernel(n=1)', pipeline, bindings: [x], workgroups: [1] });
    await expect(g.readF32(x, 0, 1)).rejects.toThrow(/validation error.*broken-kernel\(n=1\)/s);
    // The device stays usable afterwards.
    const out = g.alloc(4);
    add(g, x, x, out, 1);
    expect([...(await g.readF32(out, 0, 1))]).toEqual([2]);
    g.release(x);
    g.release(out);
  });

  it("on lavapipe Dawn's robustness is off, and the driver still keeps stores and loads inside their bindings", async (ctx) => {
    const g = gpu();
    if (!/llvmpipe/i.test(g.adapter.description)) ctx.skip();
    expect(g.adapter.robustness).toBe(false);
    const robust = await Gpu.create({ robustness: true });
    try {
      expect(robust.adapter.robustness).toBe(true);
      for (const device of [g, robust]) {
        const { changed, loaded } = await outOfRangeProbe(device);
        expect(changed, `robustness ${device.adapter.robustness}`).toEqual([[65, 7]]);
        expect(loaded, `robustness ${device.adapter.robustness}`).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
      }
    } finally {
      robust.destroy();
    }
  });

  it('reuses released buffers of the same size class', () => {
    const g = gpu();
    const a = g.alloc(1000);
    g.release(a);
    const b = g.alloc(990);
    expect(b).toBe(a);
    g.release(b);
    expect(() => g.release(b)).toThrow(/released twice/);
  });

  it('size classes waste at most a quarter and never shrink', () => {
    for (const n of [1, 255, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 123456789]) {
      const c = BufferPool.sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(Math.max(256, n * 1.25 + 4));
      expect(c % 4).toBe(0);
    }
  });

  it('caches pipelines by source', () => {
    const g = gpu();
    const src = '@compute @workgroup_size(1) fn main() {}';
    expect(g.pipeline('noop', src)).toBe(g.pipeline('noop', src));
  });
});

/**
 * A 16-byte binding in the middle of a buffer of 3s: each of 8 lanes loads and stores at a
 * lane-varying index, and stores far past the binding; only lane 0's index is inside it. Returns
 * the buffer's changed elements and what the lanes loaded.
 */
async function outOfRangeProbe(g: Gpu): Promise<{ changed: [number, number][]; loaded: number[] }> {
  const pipeline = g.pipeline(
    'out-of-range-probe',
    `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
     @group(0) @binding(1) var<storage, read_write> loaded: array<f32>;
     @compute @workgroup_size(8) fn main(@builtin(local_invocation_index) i: u32) {
       loaded[i] = x[i * 4u + 1u];
       x[i * 4u + 1u] = 7.0;
       x[1000u + i] = 9.0;
     }`,
  );
  const big = uploadF32(g, new Float32Array(2048).fill(3));
  const loaded = uploadF32(g, new Float32Array(8).fill(-1));
  g.dispatch({ kernel: 'out-of-range-probe', pipeline, bindings: [{ buffer: big, offset: 256, size: 16 }, loaded], workgroups: [1] });
  const after = await g.readF32(big, 0, 2048);
  const result = { changed: [...after.keys()].filter((i) => after[i] !== 3).map((i): [number, number] => [i, after[i]]), loaded: [...(await g.readF32(loaded, 0, 8))] };
  g.release(big);
  g.release(loaded);
  return result;
}
