import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { rotaryEmbedding } from '../../src/kernels/attention/rotary.js';
import { dim, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { uploadF32, useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { rotaryReference } from '../reference/rotary.js';

const gpu = useGpu();

interface Case {
  rows: number;
  heads: number;
  HS: number;
  x: Float32Array;
  angles: Float32Array;
  prior?: Float32Array;
}

async function run(g: Gpu, c: Case, inverse: boolean) {
  const n = c.rows * c.heads * c.HS;
  const cosH = c.angles.map(Math.cos);
  const sinH = c.angles.map(Math.sin);
  const [x, cos, sin] = [c.x, cosH, sinH].map((a) => uploadF32(g, a));
  const y = c.prior ? uploadF32(g, c.prior) : g.alloc(n * 4);
  rotaryEmbedding(g, { x: x!, cos: cos!, sin: sin!, y, rows: c.rows, heads: c.heads, HS: c.HS, inverse, accumulate: !!c.prior });
  const out = await g.readF32(y, 0, n);
  for (const b of [x!, cos!, sin!, y]) g.release(b);
  return { out, cos: cosH, sin: sinH };
}

const cases = fc.record({ rows: dim(40), heads: dim(9), half: dim(40), accumulate: fc.boolean() }).chain(({ rows, heads, half, accumulate }) =>
  fc.record({
    rows: fc.constant(rows),
    heads: fc.constant(heads),
    HS: fc.constant(2 * half),
    x: values(rows * heads * 2 * half),
    angles: fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: rows * half, maxLength: rows * half }).map((a) => Float32Array.from(a)),
    prior: accumulate ? values(rows * heads * 2 * half, 10) : fc.constant(undefined),
  }),
);

describe('rotaryEmbedding', () => {
  for (const inverse of [false, true]) {
    it(`${inverse ? 'inverse (backward)' : 'forward'} matches the float64 reference (overwrite or accumulate)`, async () => {
      await fc.assert(
        fc.asyncProperty(cases, async (c) => {
          const got = await run(gpu(), c, inverse);
          const want = rotaryReference(c.x, got.cos, got.sin, c.rows, c.heads, c.HS, inverse);
          expectClose(got.out, c.prior ? want.map((v, i) => v + c.prior![i]!) : want, TOLERANCE.f32, 'y');
        }),
        { numRuns: 25 },
      );
    });
  }

  it('the inverse undoes the rotation', async () => {
    const c: Case = { rows: 3, heads: 2, HS: 6, x: Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)), angles: Float32Array.from({ length: 9 }, (_, i) => i * 0.7) };
    const rotated = await run(gpu(), c, false);
    const back = await run(gpu(), { ...c, x: rotated.out }, true);
    expectClose(back.out, c.x, TOLERANCE.f32, 'round trip');
  });

  it('refuses an odd head size', () => {
    const g = gpu();
    const b = g.alloc(64);
    expect(() => rotaryEmbedding(g, { x: b, cos: b, sin: b, y: b, rows: 1, heads: 1, HS: 3 })).toThrow(/even head size/);
    g.release(b);
  });
});
