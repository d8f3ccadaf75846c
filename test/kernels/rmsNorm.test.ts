import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { rmsNormBackward, rmsNormForward } from '../../src/kernels/norms/rmsNorm.js';
import { dim, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { centralDifference } from '../helpers/finiteDifference.js';
import { uploadF32, useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { rmsNormBackwardReference, rmsNormReference } from '../reference/rmsNorm.js';

const gpu = useGpu();
const EPS = 1e-6;

interface Case {
  rows: number;
  cols: number;
  x: Float32Array;
  gamma: Float32Array;
  dY: Float32Array;
  prior?: Float32Array;
  priorGamma?: Float32Array;
}

async function run(g: Gpu, c: Case) {
  const { rows, cols } = c;
  const x = uploadF32(g, c.x);
  const gamma = uploadF32(g, c.gamma);
  const y = g.alloc(rows * cols * 4);
  const rstd = g.alloc(rows * 4);
  rmsNormForward(g, { x, gamma, y, rstd, rows, cols, eps: EPS });
  const dY = uploadF32(g, c.dY);
  const dX = c.prior ? uploadF32(g, c.prior) : g.alloc(rows * cols * 4);
  const dGamma = uploadF32(g, c.priorGamma ?? new Float32Array(cols));
  rmsNormBackward(g, { dY, x, gamma, rstd, dX, dGamma, rows, cols, accumulate: !!c.prior });
  const out = {
    y: await g.readF32(y, 0, rows * cols),
    rstd: await g.readF32(rstd, 0, rows),
    dX: await g.readF32(dX, 0, rows * cols),
    dGamma: await g.readF32(dGamma, 0, cols),
  };
  for (const b of [x, gamma, y, rstd, dY, dX, dGamma]) g.release(b);
  return out;
}

function check(c: Case, got: Awaited<ReturnType<typeof run>>) {
  const f = rmsNormReference(c.x, c.gamma, c.rows, c.cols, EPS);
  const b = rmsNormBackwardReference(c.x, c.gamma, c.dY, c.rows, c.cols, EPS);
  expectClose(got.y, f.y, TOLERANCE.f32Reduction, 'y');
  expectClose(got.rstd, f.rstd, TOLERANCE.f32Reduction, 'rstd');
  expectClose(got.dX, c.prior ? b.dX.map((v, i) => v + c.prior![i]!) : b.dX, TOLERANCE.f32Reduction, 'dX', b.dXTermScale);
  expectClose(got.dGamma, c.priorGamma ? b.dGamma.map((v, i) => v + c.priorGamma![i]!) : b.dGamma, TOLERANCE.f32Reduction, 'dGamma', b.dGammaTermScale);
}

const cases = fc.record({ rows: dim(140), cols: dim(300), accumulate: fc.boolean() }).chain(({ rows, cols, accumulate }) =>
  fc.record({
    rows: fc.constant(rows),
    cols: fc.constant(cols),
    x: values(rows * cols),
    gamma: values(cols, 10),
    dY: values(rows * cols, 10),
    prior: accumulate ? values(rows * cols, 10) : fc.constant(undefined),
    priorGamma: accumulate ? values(cols, 10) : fc.constant(undefined),
  }),
);

describe('rmsNorm', () => {
  it('forward and backward match the float64 reference (dX overwrite or accumulate; dGamma adds)', async () => {
    await fc.assert(fc.asyncProperty(cases, async (c) => check(c, await run(gpu(), c))), { numRuns: 25 });
  });

  it('fixed case: SmolLM2-135M width 576, QK-norm rows of head_dim 128', async () => {
    for (const [rows, cols] of [[5, 576], [33, 128]] as const) {
      const c: Case = { rows, cols, x: seededValues(rows * cols, 1, 3), gamma: seededValues(cols, 2), dY: seededValues(rows * cols, 3) };
      check(c, await run(gpu(), c));
    }
  });

  it('a zero row gives zeros and finite gradients (eps only)', async () => {
    const c: Case = { rows: 2, cols: 3, x: Float32Array.of(0, 0, 0, 1, 2, 3), gamma: Float32Array.of(1, 2, 3), dY: Float32Array.of(1, -1, 2, 0, 1, 1) };
    check(c, await run(gpu(), c));
  });

  it('backward agrees with finite differences of the forward through a scalar loss', async () => {
    const rows = 3;
    const cols = 7;
    const c: Case = { rows, cols, x: seededValues(rows * cols, 11, 2), gamma: seededValues(cols, 12), dY: seededValues(rows * cols, 13) };
    const got = await run(gpu(), c);
    const loss = (x: ArrayLike<number>, gamma: ArrayLike<number>) => rmsNormReference(x, gamma, rows, cols, EPS).y.reduce((s, v, i) => s + v * c.dY[i]!, 0);
    expectClose(got.dX, centralDifference(c.x, (x) => loss(x, c.gamma), 1e-5), TOLERANCE.finiteDifference, 'dX');
    expectClose(got.dGamma, centralDifference(c.gamma, (gm) => loss(c.x, gm), 1e-5), TOLERANCE.finiteDifference, 'dGamma');
  });
});
