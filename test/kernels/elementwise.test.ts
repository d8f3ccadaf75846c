import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulate, axpby, dropout, dropoutBackward, fill, reluBackward, scale } from '../../src/kernels/elementwise.js';
import { dim, draws, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { dropoutKeeps, dropoutReference } from '../reference/dropout.js';

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

forEachMemoryBoundVariant(gpu, () => {
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
        { numRuns: draws(25) },
      );
    });

    it('fixed case: residual add of three elements', async () => {
      expectClose(await runAxpby(Float32Array.of(1, -2, 3), Float32Array.of(10, 20, -30), 1, 1), [11, 18, -27], TOLERANCE.f32);
    });

    it('covers sizes past 65535 workgroups-worth of elements along one dimension', async () => {
      // Not a multiple of 4: one f32 per lane, so the GPU layout's 256-lane workgroups spill into y.
      const n = 65535 * 256 + 301;
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
        { numRuns: draws(15) },
      );
    });
  });

  describe('fill', () => {
    it('sets exactly n elements, vec4 and scalar lengths', async () => {
      await fc.assert(
        // Zero (through clearBuffer) a third of the time; -0 stays with the kernel.
        fc.asyncProperty(dim(3000), fc.oneof(fc.constant(0), fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true })), async (n, value) => {
          const g = gpu();
          const buf = uploadF32(g, new Float32Array(n + 8).fill(7));
          fill(g, buf, n, value);
          const got = await g.readF32(buf, 0, n + 8);
          expectClose(got, [...new Array(n).fill(Math.fround(value)), ...new Array(8).fill(7)], TOLERANCE.f32, 'fill');
          if (Object.is(value, -0)) expect(Object.is(got[0], -0)).toBe(true);
          g.release(buf);
        }),
        { numRuns: draws(15) },
      );
    });

    it('zeroes in order with the dispatches around it', async () => {
      const g = gpu();
      const n = 1000;
      const x = uploadF32(g, new Float32Array(n).fill(1.5));
      const buf = uploadF32(g, new Float32Array(n + 4).fill(7));
      scale(g, x, buf, n, 2); // buf = 3
      fill(g, buf, n, 0); // buf = 0
      accumulate(g, x, buf, n); // buf = 1.5
      const got = await g.readF32(buf, 0, n + 4);
      expect([...got]).toEqual([...new Array(n).fill(1.5), 7, 7, 7, 7]);
      g.release(x);
      g.release(buf);
    });
  });

  describe('reluBackward', () => {
    it('passes dY where y > 0, overwriting or accumulating', async () => {
      await fc.assert(
        fc.asyncProperty(dim(3000).chain((n) => fc.tuple(values(n), values(n), values(n), fc.boolean())), async ([y, dY, prior, acc]) => {
          const g = gpu();
          const n = y.length;
          const [by, bdY, bdX] = [y, dY, prior].map((a) => uploadF32(g, a));
          reluBackward(g, { y: by, dY: bdY, dX: bdX, n, accumulate: acc });
          const want = Array.from(y, (v, i) => (v > 0 ? dY[i] : 0) + (acc ? prior[i] : 0));
          expectClose(await g.readF32(bdX, 0, n), want, TOLERANCE.f32, 'dX');
          [by, bdY, bdX].forEach((b) => g.release(b));
        }),
        { numRuns: draws(15) },
      );
    });
  });

  describe('dropout', () => {
    async function runDropout(x: Float32Array, p: number, seed: number, offset: number): Promise<Float32Array> {
      const g = gpu();
      const bx = uploadF32(g, x);
      const out = g.alloc(x.length * 4);
      dropout(g, { x: bx, out, n: x.length, p, seed, offset });
      const r = await g.readF32(out, 0, x.length);
      [bx, out].forEach((b) => g.release(b));
      return r;
    }

    it('matches the reference mask bit for bit, and backward recomputes the same mask', async () => {
      await fc.assert(
        fc.asyncProperty(
          dim(3000).chain((n) => fc.tuple(values(n), values(n), values(n))),
          fc.constantFrom(0, 0.1, 0.5, 0.9, 1),
          fc.nat(),
          fc.nat(),
          fc.boolean(),
          async ([x, dY, prior], p, seed, offset, acc) => {
            const g = gpu();
            const n = x.length;
            expectClose(await runDropout(x, p, seed, offset), dropoutReference(x, p, seed, offset), TOLERANCE.f32, 'out');
            const [bdY, bdX] = [dY, prior].map((a) => uploadF32(g, a));
            dropoutBackward(g, { dY: bdY, dX: bdX, n, p, seed, offset, accumulate: acc });
            const want = dropoutReference(dY, p, seed, offset).map((v, i) => v + (acc ? prior[i] : 0));
            expectClose(await g.readF32(bdX, 0, n), want, TOLERANCE.f32, 'dX');
            [bdY, bdX].forEach((b) => g.release(b));
          },
        ),
        { numRuns: draws(20) },
      );
    });

    it('drops a fraction p, differs across seeds and offsets, and repeats for the same seed', async () => {
      const n = 1 << 16;
      const x = new Float32Array(n).fill(1);
      const a = await runDropout(x, 0.1, 42, 0);
      const dropped = a.filter((v) => v === 0).length / n;
      expect(Math.abs(dropped - 0.1)).toBeLessThan(0.005); // 4.5 standard deviations at n = 65536
      expect(Array.from(a).every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6)).toBe(true);
      expect(await runDropout(x, 0.1, 42, 0)).toEqual(a);
      const otherSeed = await runDropout(x, 0.1, 43, 0);
      const otherOffset = await runDropout(x, 0.1, 42, n);
      let sameSeedDiff = 0;
      let sameOffsetDiff = 0;
      for (let i = 0; i < n; i++) {
        if ((otherSeed[i] === 0) !== (a[i] === 0)) sameSeedDiff++;
        if ((otherOffset[i] === 0) !== (a[i] === 0)) sameOffsetDiff++;
      }
      // Independent masks at p = 0.1 disagree on 2·0.1·0.9 = 18% of elements.
      expect(sameSeedDiff / n).toBeGreaterThan(0.15);
      expect(sameOffsetDiff / n).toBeGreaterThan(0.15);
    });

    it('fixed case: the mask of seed 1, offset 0, p = 0.5 over 8 elements', async () => {
      const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      const want = dropoutReference(x, 0.5, 1, 0);
      expect(Array.from(x, (_, i) => dropoutKeeps(i, 0.5, 1, 0))).toContain(true);
      expectClose(await runDropout(x, 0.5, 1, 0), want, TOLERANCE.f32);
    });
  });
});
