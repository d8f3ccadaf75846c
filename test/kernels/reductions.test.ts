import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clipCoefficient, sum, sumOfSquares } from '../../src/kernels/reductions.js';
import { dim, draws, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';

const gpu = useGpu();

forEachMemoryBoundVariant(gpu, () => {
  describe('reductions', () => {
    it('sum matches float64 into out[outIndex], and repeats bit for bit', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(dim(5000), fc.integer({ min: 4000, max: 70000 })).chain((n) => values(n)), fc.integer({ min: 0, max: 3 }), async (x, outIndex) => {
          const g = gpu();
          const bx = uploadF32(g, x);
          const out = uploadF32(g, new Float32Array(4).fill(9));
          sum(g, { x: bx, n: x.length, out, outIndex });
          const got = await g.readF32(out, 0, 4);
          sum(g, { x: bx, n: x.length, out, outIndex });
          const again = await g.readF32(out, 0, 4);
          const want = x.reduce((s, v) => s + v, 0);
          // The sum of n terms errs relative to the terms' magnitude, not to the (cancelling) total.
          const scale = x.reduce((s, v) => s + Math.abs(v), 0);
          expect(Math.abs(got[outIndex] - want)).toBeLessThanOrEqual(TOLERANCE.f32Reduction.rtol * scale + 1e-30);
          expect(Array.from(got).filter((_, i) => i !== outIndex)).toEqual([9, 9, 9]);
          expect(again).toEqual(got);
          [bx, out].forEach((b) => g.release(b));
        }),
        { numRuns: draws(20) },
      );
    });

    it('sumOfSquares over many tensors, then the clip coefficient, without readback between', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(dim(3000).chain((n) => values(n, 100)), { minLength: 1, maxLength: 12 }), fc.double({ min: 0.1, max: 1e4, noNaN: true }), async (xs, maxNorm) => {
          const g = gpu();
          const bufs = xs.map((x) => uploadF32(g, x));
          const sumSq = g.alloc(4);
          const coef = g.alloc(4);
          sumOfSquares(g, { tensors: bufs.map((buffer, i) => ({ buffer, n: xs[i].length })), out: sumSq });
          clipCoefficient(g, { sumSq, out: coef, maxNorm });
          const want = xs.reduce((s, x) => s + x.reduce((t, v) => t + v * v, 0), 0);
          expectClose(await g.readF32(sumSq, 0, 1), [want], TOLERANCE.f32Reduction, 'sumSq');
          expectClose(await g.readF32(coef, 0, 1), [Math.min(1, maxNorm / (Math.sqrt(want) + 1e-6))], TOLERANCE.f32Reduction, 'coefficient');
          [...bufs, sumSq, coef].forEach((b) => g.release(b));
        }),
        { numRuns: draws(15) },
      );
    });

    it('fixed case: a tensor over the 128 MiB binding limit is summed in slices', async () => {
      const g = gpu();
      const n = g.limits.maxStorageBufferBindingSize / 4 + 1000;
      const x = new Float32Array(n).fill(0.5);
      x[n - 1] = 2;
      const bx = uploadF32(g, x);
      const ones = uploadF32(g, seededValues(10, 1).fill(1));
      const out = g.alloc(4);
      sumOfSquares(g, { tensors: [{ buffer: bx, n }, { buffer: ones, n: 10 }], out });
      expectClose(await g.readF32(out, 0, 1), [(n - 1) * 0.25 + 4 + 10], TOLERANCE.f32Reduction, 'sumSq');
      [bx, ones, out].forEach((b) => g.release(b));
    });
  });
});
