import fc from 'fast-check';
import { describe, it } from 'vitest';
import { accumulate, axpby, scale } from '../../src/kernels/elementwise.js';
import { dim, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();

async function runAxpby(x: Float32Array, y: Float32Array, a: number, b: number): Promise<Float32Array> {
  const g = gpu();
  const n = x.length;
  const bx = uploadF32(g, x);
  const by = uploadF32(g, y);
  const out = g.alloc(n * 4);
  axpby(g, bx, by, out, n, a, b);
  const r = await g.readF32(out, 0, n);
  [bx, by, out].forEach((b) => g.release(b));
  return r;
}

describe('axpby', () => {
  it('matches the float64 reference for random sizes and values', async () => {
    await fc.assert(
      fc.asyncProperty(
        dim(5000).chain((n) => fc.tuple(values(n), values(n), fc.float({ min: -4, max: 4, noNaN: true }), fc.float({ min: -4, max: 4, noNaN: true }))),
        async ([x, y, a, b]) => {
          const af = Math.fround(a);
          const bf = Math.fround(b);
          const want = Array.from(x, (xi, i) => af * xi + bf * y[i]);
          expectClose(await runAxpby(x, y, af, bf), want, TOLERANCE.f32, 'axpby');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('fixed case: residual add of three elements', async () => {
    expectClose(await runAxpby(Float32Array.of(1, -2, 3), Float32Array.of(10, 20, -30), 1, 1), [11, 18, -27], TOLERANCE.f32);
  });

  it('covers sizes past 65535 workgroups-worth of elements along one dimension', async () => {
    const n = 65535 * 256 + 300;
    const x = new Float32Array(n).fill(1.5);
    const r = await runAxpby(x, x, 2, -1);
    expectClose([r[0], r[n - 1], r[65535 * 256 + 7]], [1.5, 1.5, 1.5], TOLERANCE.f32);
  });
});

describe('scale and accumulate', () => {
  it('match the reference', async () => {
    await fc.assert(
      fc.asyncProperty(dim(3000).chain((n) => fc.tuple(values(n), values(n))), async ([x, y]) => {
        const g = gpu();
        const n = x.length;
        const bx = uploadF32(g, x);
        const by = uploadF32(g, y);
        const out = g.alloc(n * 4);
        scale(g, bx, out, n, 0.5);
        accumulate(g, bx, by, n, 2, 3); // y = 3y + 2x
        expectClose(await g.readF32(out, 0, n), Array.from(x, (v) => 0.5 * v), TOLERANCE.f32, 'scale');
        expectClose(await g.readF32(by, 0, n), Array.from(y, (v, i) => 3 * v + 2 * x[i]), TOLERANCE.f32, 'accumulate');
        [bx, by, out].forEach((b) => g.release(b));
      }),
      { numRuns: 15 },
    );
  });
});
