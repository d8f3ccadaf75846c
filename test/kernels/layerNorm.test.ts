import fc from 'fast-check';
import { describe, it } from 'vitest';
import { layerNormBackward, layerNormForward } from '../../src/kernels/norms/layerNorm.js';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { dim, draws, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { centralDifference } from '../helpers/finiteDifference.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { layerNormBackwardReference, layerNormReference } from '../reference/layerNorm.js';

const gpu = useGpu();
const EPS = 1e-5;

interface Case {
  rows: number;
  cols: number;
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  dY: Float32Array;
}

/** Runs forward and backward (dX accumulated onto `priorDX` when given; dGamma/dBeta onto priorParam). */
async function run(g: Gpu, c: Case, priorDX?: Float32Array, priorParam?: Float32Array) {
  const { rows, cols } = c;
  const x = uploadF32(g, c.x);
  const gamma = c.gamma ? uploadF32(g, c.gamma) : undefined;
  const beta = c.beta ? uploadF32(g, c.beta) : undefined;
  const y = g.alloc(rows * cols * 4);
  const mean = g.alloc(rows * 4);
  const rstd = g.alloc(rows * 4);
  layerNormForward(g, { x, gamma, beta, y, mean, rstd, rows, cols, eps: EPS });
  const dY = uploadF32(g, c.dY);
  const dX = priorDX ? uploadF32(g, priorDX) : g.alloc(rows * cols * 4);
  const zeros = priorParam ?? new Float32Array(cols);
  const dGamma = uploadF32(g, zeros);
  const dBeta = uploadF32(g, zeros);
  layerNormBackward(g, { dY, x, gamma, mean, rstd, dX, dGamma, dBeta, rows, cols, accumulate: !!priorDX });
  const out = {
    y: await g.readF32(y, 0, rows * cols),
    mean: await g.readF32(mean, 0, rows),
    rstd: await g.readF32(rstd, 0, rows),
    dX: await g.readF32(dX, 0, rows * cols),
    dGamma: await g.readF32(dGamma, 0, cols),
    dBeta: await g.readF32(dBeta, 0, cols),
  };
  [x, gamma, beta, y, mean, rstd, dY, dX, dGamma, dBeta].forEach((b) => b && g.release(b));
  return out;
}

function check(c: Case, got: Awaited<ReturnType<typeof run>>, priorDX?: Float32Array, priorParam?: Float32Array) {
  const f = layerNormReference(c.x, c.gamma, c.beta, c.rows, c.cols, EPS);
  const b = layerNormBackwardReference(c.x, c.gamma, c.dY, c.rows, c.cols, EPS);
  expectClose(got.y, f.y, TOLERANCE.f32Reduction, 'y', f.yTermScale);
  expectClose(got.mean, f.mean, TOLERANCE.f32Reduction, 'mean', f.meanTermScale);
  expectClose(got.rstd, f.rstd, TOLERANCE.f32Reduction, 'rstd');
  expectClose(got.dX, priorDX ? b.dX.map((v, i) => v + priorDX[i]) : b.dX, TOLERANCE.f32Reduction, 'dX', b.dXTermScale);
  expectClose(got.dGamma, priorParam ? b.dGamma.map((v, i) => v + priorParam[i]) : b.dGamma, TOLERANCE.f32Reduction, 'dGamma', b.dGammaTermScale);
  expectClose(got.dBeta, priorParam ? b.dBeta.map((v, i) => v + priorParam[i]) : b.dBeta, TOLERANCE.f32Reduction, 'dBeta', b.dBetaTermScale);
}

const cases = fc.record({ rows: dim(140), cols: dim(300), affine: fc.boolean(), accumulate: fc.boolean() }).chain(({ rows, cols, affine, accumulate }) =>
  fc.record({
    rows: fc.constant(rows),
    cols: fc.constant(cols),
    x: values(rows * cols),
    gamma: affine ? values(cols, 10) : fc.constant(null),
    beta: affine ? values(cols, 10) : fc.constant(null),
    dY: values(rows * cols, 10),
    prior: accumulate ? values(rows * cols, 10) : fc.constant(undefined),
    priorParam: accumulate ? values(cols, 10) : fc.constant(undefined),
  }),
);

forEachMemoryBoundVariant(gpu, () => {
  describe('layerNorm', () => {
    it('forward and backward match the float64 reference (dX overwrite or accumulate; dGamma/dBeta add)', async () => {
      await fc.assert(
        fc.asyncProperty(cases, async (c) => check(c, await run(gpu(), c, c.prior, c.priorParam), c.prior, c.priorParam)),
        { numRuns: draws(25) },
      );
    });

    it('fixed case: OPT width 1024, 7 rows with a large common offset', async () => {
      const rows = 7;
      const cols = 1024;
      const x = seededValues(rows * cols, 3).map((v, i) => v + (i < cols ? 1000 : 0));
      const c: Case = { rows, cols, x, gamma: seededValues(cols, 4), beta: seededValues(cols, 5), dY: seededValues(rows * cols, 6) };
      check(c, await run(gpu(), c));
    });

    it('a constant row normalises to beta with finite gradients (variance 0, eps only)', async () => {
      const c: Case = { rows: 1, cols: 5, x: new Float32Array(5).fill(3), gamma: Float32Array.of(1, 2, 3, 4, 5), beta: Float32Array.of(1, 1, 1, 1, 1), dY: Float32Array.of(1, -1, 2, 0, 1) };
      check(c, await run(gpu(), c));
    });

    it('fixed case: a row whose values differ by one ulp (x̂ is all rounding; CI drew this once)', async () => {
      const x = new Float32Array(14);
      x[0] = 1.9999992847442627;
      x[1] = 1.9999994039535522;
      const dY = new Float32Array(14);
      dY[1] = 2.653241213082808e-30;
      const c: Case = { rows: 7, cols: 2, x, gamma: Float32Array.of(0.5, -2), beta: Float32Array.of(0, 1), dY };
      check(c, await run(gpu(), c));
    });

    it('backward agrees with finite differences of the forward through a scalar loss', async () => {
      // L = Σ y·w; dL/dx by central differences of the float64 forward, dL/dx from the kernel.
      const rows = 3;
      const cols = 6;
      const c: Case = { rows, cols, x: seededValues(rows * cols, 11, 2), gamma: seededValues(cols, 12), beta: seededValues(cols, 13), dY: seededValues(rows * cols, 14) };
      const got = await run(gpu(), c);
      const loss = (x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>) =>
        layerNormReference(x, gamma, beta, rows, cols, EPS).y.reduce((s, v, i) => s + v * c.dY[i], 0);
      const h = 1e-5;
      const fd = (arr: Float32Array, f: (a: Float64Array) => number) => centralDifference(arr, f, h);
      expectClose(got.dX, fd(c.x, (x) => loss(x, c.gamma!, c.beta!)), TOLERANCE.finiteDifference, 'dX');
      expectClose(got.dGamma, fd(c.gamma!, (gm) => loss(c.x, gm, c.beta!)), TOLERANCE.finiteDifference, 'dGamma');
      expectClose(got.dBeta, fd(c.beta!, (bt) => loss(c.x, c.gamma!, bt)), TOLERANCE.finiteDifference, 'dBeta');
    });
  });
});
