import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { gatedMlpBackward, gatedMlpForward } from '../../src/kernels/gatedMlp.js';
import { dim, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { centralDifference } from '../helpers/finiteDifference.js';
import { uploadF32, useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { gatedMlpReference } from '../reference/gatedMlp.js';

const gpu = useGpu();

interface Case {
  gate: Float32Array;
  up: Float32Array;
  dH: Float32Array;
  priorGate?: Float32Array;
  priorUp?: Float32Array;
}

async function run(g: Gpu, c: Case) {
  const n = c.gate.length;
  const gate = uploadF32(g, c.gate);
  const up = uploadF32(g, c.up);
  const dH = uploadF32(g, c.dH);
  const h = g.alloc(n * 4);
  const dGate = c.priorGate ? uploadF32(g, c.priorGate) : g.alloc(n * 4);
  const dUp = c.priorUp ? uploadF32(g, c.priorUp) : g.alloc(n * 4);
  gatedMlpForward(g, { gate, up, h, n });
  gatedMlpBackward(g, { gate, up, dH, dGate, dUp, n, accumulateGate: !!c.priorGate, accumulateUp: !!c.priorUp });
  const out = { h: await g.readF32(h, 0, n), dGate: await g.readF32(dGate, 0, n), dUp: await g.readF32(dUp, 0, n) };
  for (const b of [gate, up, dH, h, dGate, dUp]) g.release(b);
  return out;
}

const plus = (a: Float64Array, prior?: Float32Array) => (prior ? a.map((v, i) => v + prior[i]!) : a);

const cases = fc.record({ n: dim(3000), accGate: fc.boolean(), accUp: fc.boolean() }).chain(({ n, accGate, accUp }) =>
  fc.record({
    gate: values(n, 100),
    up: values(n),
    dH: values(n, 10),
    priorGate: accGate ? values(n, 10) : fc.constant(undefined),
    priorUp: accUp ? values(n, 10) : fc.constant(undefined),
  }),
);

describe('gatedMlp', () => {
  it('forward and backward match the float64 reference (each gradient overwritten or accumulated)', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const got = await run(gpu(), c);
        const want = gatedMlpReference(c.gate, c.up, c.dH);
        // h and dUp carry σ(g), computed in f32 with an absolute error against 1 (lavapipe's exp is
        // ~6% off at |g| = 80, where σ is 1e-35): their error scale is g·up and dH·g, not the result.
        const scale = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v * b[i]!)), 0);
        expectClose(got.h, want.h, TOLERANCE.f32, 'h', scale(c.gate, c.up));
        expectClose(got.dGate, plus(want.dGate, c.priorGate), TOLERANCE.f32, 'dGate');
        expectClose(got.dUp, plus(want.dUp, c.priorUp), TOLERANCE.f32, 'dUp', scale(c.gate, c.dH));
      }),
      { numRuns: 25 },
    );
  });

  it('judges a vanishing σ(g) against g, not against its own tiny result (a case the property found)', async () => {
    const c: Case = { gate: Float32Array.of(-80.057861328125, 0), up: Float32Array.of(0, 0), dH: Float32Array.of(-0.12331097573041916, 0) };
    const got = await run(gpu(), c);
    const want = gatedMlpReference(c.gate, c.up, c.dH);
    expectClose(got.dUp, want.dUp, TOLERANCE.f32, 'dUp', Math.abs(c.gate[0]! * c.dH[0]!));
    // The result is still tiny and of the right sign.
    if (!(got.dUp[0]! > 0 && got.dUp[0]! < 1e-30)) throw new Error(`dUp[0] = ${got.dUp[0]}`);
  });

  it('saturates without NaN at large |gate|', async () => {
    const c: Case = { gate: Float32Array.of(-1e4, -90, 90, 1e4, 0), up: Float32Array.of(1, 2, 3, 4, 5), dH: Float32Array.of(1, 1, 1, 1, 1) };
    const got = await run(gpu(), c);
    const want = gatedMlpReference(c.gate, c.up, c.dH);
    expectClose(got.h, want.h, TOLERANCE.f32, 'h');
    expectClose(got.dGate, want.dGate, TOLERANCE.f32, 'dGate');
  });

  it('backward agrees with finite differences of the forward', async () => {
    const c: Case = { gate: Float32Array.of(-3, -0.5, 0, 0.7, 2.5), up: Float32Array.of(1.5, -2, 0.3, 1, -0.8), dH: Float32Array.of(0.3, -1, 2, 0.5, 1) };
    const got = await run(gpu(), c);
    const loss = (gate: ArrayLike<number>, up: ArrayLike<number>) => gatedMlpReference(gate, up, c.dH).h.reduce((s, v, i) => s + v * c.dH[i]!, 0);
    expectClose(got.dGate, centralDifference(c.gate, (g) => loss(g, c.up), 1e-5), TOLERANCE.finiteDifference, 'dGate');
    expectClose(got.dUp, centralDifference(c.up, (u) => loss(c.gate, u), 1e-5), TOLERANCE.finiteDifference, 'dUp');
  });
});
