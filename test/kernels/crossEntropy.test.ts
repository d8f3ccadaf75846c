import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/kernels/crossEntropy.js';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { dim, draws, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { centralDifference } from '../helpers/finiteDifference.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { crossEntropyReference } from '../reference/crossEntropy.js';

const gpu = useGpu();
const IGNORE = -100;

/** Runs the kernel on rows [offset, offset + rows) of `targets`; returns loss and (with dScale) dLogits. */
async function run(g: Gpu, logits: Float32Array, targets: Int32Array, rows: number, V: number, offset: number, dScale?: number) {
  const bl = uploadF32(g, logits);
  const bt = g.upload(targets);
  const loss = g.alloc(rows * 4);
  crossEntropy(g, { logits: bl, targets: bt, loss, rows, V, targetOffset: offset, dScale });
  const out = { loss: await g.readF32(loss, 0, rows), dLogits: dScale === undefined ? null : await g.readF32(bl, 0, rows * V) };
  [bl, bt, loss].forEach((b) => g.release(b));
  return out;
}

forEachMemoryBoundVariant(gpu, () => {
  describe('crossEntropy', () => {
    it('loss and in-place dLogits match the float64 reference (ignore_index -100, target offset)', async () => {
      const problem = fc.record({ rows: dim(40), V: dim(700), offset: fc.integer({ min: 0, max: 5 }) }).chain(({ rows, V, offset }) =>
        fc.record({
          rows: fc.constant(rows),
          V: fc.constant(V),
          offset: fc.constant(offset),
          logits: values(rows * V, 30),
          targets: fc.array(fc.oneof(fc.integer({ min: 0, max: V - 1 }), fc.constant(IGNORE)), { minLength: rows + offset, maxLength: rows + offset }),
          dScale: fc.option(fc.double({ min: 0.01, max: 2, noNaN: true }), { nil: undefined }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(problem, async ({ rows, V, offset, logits, targets, dScale }) => {
          const got = await run(gpu(), logits, Int32Array.from(targets), rows, V, offset, dScale);
          const want = crossEntropyReference(logits, targets.slice(offset), rows, V, Math.fround(dScale ?? 1));
          expectClose(got.loss, want.loss, TOLERANCE.f32Reduction, 'loss', want.lossTermScale);
          if (got.dLogits) expectClose(got.dLogits, want.dLogits, TOLERANCE.f32Reduction, 'dLogits', want.dLogitsTermScale);
        }),
        { numRuns: draws(25) },
      );
    });

    it('logits of ±1000 give finite, exact losses', async () => {
      const V = 5;
      const logits = Float32Array.of(1000, -1000, 0, 999, -1000, /* row 2 */ -1000, -1000, -1000, -1000, -1000);
      const got = await run(gpu(), logits, Int32Array.of(3, 1), 2, V, 0, 1);
      const want = crossEntropyReference(logits, [3, 1], 2, V);
      for (const v of [...got.loss, ...got.dLogits!]) expect(Number.isFinite(v)).toBe(true);
      expectClose(got.loss, want.loss, TOLERANCE.f32Reduction, 'loss', want.lossTermScale);
      expectClose(got.dLogits!, want.dLogits, TOLERANCE.f32Reduction, 'dLogits', want.dLogitsTermScale);
    });

    it('fixed case: OPT vocabulary 50272, 3 rows, one ignored', async () => {
      const V = 50272;
      const logits = seededValues(3 * V, 17, 8);
      const targets = Int32Array.of(0, IGNORE, V - 1);
      const got = await run(gpu(), logits, targets, 3, V, 0, 0.5);
      const want = crossEntropyReference(logits, targets, 3, V, 0.5);
      expectClose(got.loss, want.loss, TOLERANCE.f32Reduction, 'loss', want.lossTermScale);
      expectClose(got.dLogits!, want.dLogits, TOLERANCE.f32Reduction, 'dLogits', want.dLogitsTermScale);
      expect(got.loss[1]).toBe(0);
    });

    it('fixed case: a target with p near 1, whose gradient (p - 1)·dScale cancels (a 20x hunt drew it)', async () => {
      const V = 17;
      const logits = new Float32Array(2 * V);
      logits[3] = 9.38640308380127;
      logits[10] = 0.026218414306640625;
      logits[13] = -0.006238765548914671;
      logits[15] = -0.00005839296500198543;
      const targets = Int32Array.of(-100, 0, 3, IGNORE);
      const got = await run(gpu(), logits, targets, 2, V, 2, 0.01);
      const want = crossEntropyReference(logits, targets.slice(2), 2, V, Math.fround(0.01));
      expectClose(got.loss, want.loss, TOLERANCE.f32Reduction, 'loss', want.lossTermScale);
      expectClose(got.dLogits!, want.dLogits, TOLERANCE.f32Reduction, 'dLogits', want.dLogitsTermScale);
    });

    it('backward agrees with finite differences of the loss', async () => {
      const rows = 2;
      const V = 7;
      const logits = seededValues(rows * V, 5, 3);
      const targets = [4, 0];
      const got = await run(gpu(), logits, Int32Array.from(targets), rows, V, 0, 1);
      const h = 1e-6;
      const L = (x: Float64Array) => crossEntropyReference(x, targets, rows, V).loss.reduce((s, v) => s + v, 0);
      const fd = centralDifference(logits, L, h);
      expectClose(got.dLogits!, fd, TOLERANCE.finiteDifference, 'dLogits');
    });

    it('one chunk near the 128 MiB binding limit (the chunking contract for 4·1024·50272 logits)', async () => {
      const g = gpu();
      const V = 256;
      const rows = Math.floor(g.limits.maxStorageBufferBindingSize / (V * 4)) - 1;
      const logits = seededValues(rows * V, 9, 4);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r % 7 === 3 ? IGNORE : (r * 31) % V));
      const got = await run(g, logits, targets, rows, V, 0);
      const want = crossEntropyReference(logits, targets, rows, V);
      expectClose(got.loss, want.loss, TOLERANCE.f32Reduction, 'loss', want.lossTermScale);
    });
  });
});
