import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { biasGrad, matmul, subgroupMatmulLanes, type MatmulLayout, type MatmulVariant } from '../../src/kernels/matmul/index.js';
import { dim, draws, seededValues } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { matmulRef } from '../reference/matmul.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model/checkpoint/dtypes.js';

const gpu = useGpu();

interface Case {
  M: number;
  N: number;
  K: number;
  layout: MatmulLayout;
  batch: number;
  /** Extra elements before batch item 0 and between items, per operand. */
  offsetA: number;
  offsetB: number;
  offsetC: number;
  padA: number;
  padB: number;
  padC: number;
  bias: boolean;
  relu: boolean;
  accumulate: boolean;
  alpha: number;
  seed: number;
  /** B as IEEE halves packed two per u32 (the reference multiplies by the same rounded values). */
  bF16?: boolean;
}

const plain = { batch: 1, offsetA: 0, offsetB: 0, offsetC: 0, padA: 0, padB: 0, padC: 0, bias: false, relu: false, accumulate: false, alpha: 1, seed: 1 };

/** Mostly O(1) values with every 13th element scaled to ±100: large magnitudes in every row and column. */
function data(n: number, seed: number): Float32Array {
  const x = seededValues(n, seed, 2);
  for (let i = seed % 13; i < n; i += 13) x[i] *= 50;
  return x;
}

/** Runs the kernel and the float64 reference on one case; also checks C outside the written blocks is untouched. */
async function check(c: Case, variant: MatmulVariant | undefined): Promise<void> {
  const g = gpu();
  const { M, N, K, layout, batch } = c;
  const strideA = M * K + c.padA;
  const strideB = K * N + c.padB;
  const strideC = M * N + c.padC;
  const a = data(c.offsetA + batch * strideA, c.seed);
  const b = data(c.offsetB + batch * strideB, c.seed + 1);
  const halves = new Uint16Array(b.length + (b.length % 2));
  if (c.bF16) {
    halves.set(Array.from(b, f32ToF16Bits));
    b.set(Array.from(halves.subarray(0, b.length), f16BitsToF32));
  }
  const c0 = data(c.offsetC + batch * strideC, c.seed + 2);
  const bias = data(N, c.seed + 3);
  const ba = uploadF32(g, a);
  const bb = c.bF16 ? g.upload(new Uint32Array(halves.buffer)) : uploadF32(g, b);
  const bc = uploadF32(g, c0);
  const bbias = c.bias ? uploadF32(g, bias) : undefined;
  matmul(g, {
    a: ba, b: bb, c: bc, M, N, K, layout, batch, strideA, strideB, strideC,
    offsetA: c.offsetA, offsetB: c.offsetB, offsetC: c.offsetC,
    bias: bbias, relu: c.relu, accumulate: c.accumulate, alpha: c.alpha, variant, bDtype: c.bF16 ? 'f16' : 'f32',
  });
  const got = await g.readF32(bc, 0, c0.length);
  [ba, bb, bc, ...(bbias ? [bbias] : [])].forEach((x) => g.release(x));

  const want = Float64Array.from(c0);
  for (let z = 0; z < batch; z++) {
    const az = a.subarray(c.offsetA + z * strideA, c.offsetA + z * strideA + M * K);
    const bz = b.subarray(c.offsetB + z * strideB, c.offsetB + z * strideB + K * N);
    const prod = matmulRef(az, bz, M, N, K, layout);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let v = Math.fround(c.alpha) * prod[i * N + j] + (c.bias ? bias[j] : 0);
        if (c.relu) v = Math.max(v, 0);
        const at = c.offsetC + z * strideC + i * N + j;
        want[at] = c.accumulate ? c0[at] + v : v;
      }
    }
  }
  const what = `${variant ?? 'default'}${c.bF16 ? ' f16 B' : ''} ${layout} M=${M} N=${N} K=${K} batch=${batch}${c.bias ? ' +bias' : ''}${c.relu ? ' +relu' : ''}${c.accumulate ? ' +acc' : ''} alpha=${c.alpha}`;
  expectClose(got, want, TOLERANCE.f32, what);
}

// Shapes off every tile size, half the time forced to multiples of 4 (with offsets and strides to
// match) so that the vec4 shader is drawn as often as the scalar one.
function caseArb(layout: MatmulLayout, maxM = 40): fc.Arbitrary<Case> {
  return fc
    .record({
      aligned: fc.boolean(),
      M: dim(maxM),
      N: dim(70),
      K: dim(70),
      batch: fc.integer({ min: 1, max: 3 }),
      offsetA: fc.integer({ min: 0, max: 9 }),
      offsetB: fc.integer({ min: 0, max: 9 }),
      offsetC: fc.integer({ min: 0, max: 9 }),
      padA: fc.integer({ min: 0, max: 9 }),
      padB: fc.integer({ min: 0, max: 9 }),
      padC: fc.integer({ min: 0, max: 9 }),
      bias: fc.boolean(),
      relu: fc.boolean(),
      accumulate: fc.boolean(),
      alpha: fc.constantFrom(1, 0.5, -2),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    })
    .map(({ aligned, ...c }) => {
      if (!aligned) return { ...c, layout };
      const r4 = (x: number) => 4 * Math.ceil(x / 4);
      return {
        ...c, layout, M: r4(c.M), N: r4(c.N), K: r4(c.K),
        offsetA: r4(c.offsetA), offsetB: r4(c.offsetB), offsetC: r4(c.offsetC), padA: r4(c.padA), padB: r4(c.padB), padC: r4(c.padC),
      };
    });
}

const variants: MatmulVariant[] = ['subgroup', 'subgroup-nt', 'tiled', 'gemv'];

for (const variant of variants) {
  describe(`matmul (${variant})`, () => {
    // The subgroup variants run wherever this device's subgroup size is one they support; elsewhere
    // the refusal test below holds them to refusing, and the choice to never picking them.
    const refusal = (): string | null => {
      const lanes = subgroupMatmulLanes(gpu());
      return variant.startsWith('subgroup') && !lanes.ok ? lanes.why : null;
    };
    const skip = (ctx: { skip: (why: string) => void }) => {
      const why = refusal();
      if (why !== null) ctx.skip(why);
    };
    // gemv is the 'nt' kernel for few rows of A: mostly M <= 8 (its automatic range is M <= 4; up
    // to 8 several row tiles), sometimes more.
    const gemv = variant === 'gemv';
    const layouts: MatmulLayout[] = gemv ? ['nt'] : ['nn', 'nt', 'tn'];
    for (const layout of layouts) {
      it(`${layout}: matches the float64 reference over random shapes, batches, offsets and epilogues`, async (ctx) => {
        skip(ctx);
        const small = fc.tuple(caseArb(layout, 8), fc.boolean()).map(([c, bF16]) => ({ ...c, bF16 }));
        const arb = gemv ? fc.oneof({ weight: 3, arbitrary: small }, { weight: 1, arbitrary: caseArb(layout, 20) }) : caseArb(layout);
        await fc.assert(fc.asyncProperty(arb, (c) => check(c, variant)), { numRuns: draws(gemv ? 24 : 12) });
      });

      it(`${layout}: fixed cases (plain, bias+relu, accumulate with alpha, batched with offsets)`, async (ctx) => {
        skip(ctx);
        await check({ ...plain, layout, M: 1, N: 1, K: 1 }, variant);
        await check({ ...plain, layout, M: 1, N: 45, K: 13, bias: true, relu: true, seed: 3 }, variant);
        await check({ ...plain, layout, M: 3, N: 71, K: 36, accumulate: true, alpha: 0.5, seed: 4 }, variant);
        await check({ ...plain, layout, M: 33, N: 67, K: 17, bias: true, relu: true }, variant);
        await check({ ...plain, layout, M: 36, N: 68, K: 20, accumulate: true, alpha: -2, seed: 5 }, variant);
        await check({ ...plain, layout, M: 7, N: 12, K: 64, batch: 3, offsetA: 4, offsetB: 8, offsetC: 12, padA: 4, padC: 8, bias: true, seed: 9 }, variant);
      });
    }

    it('reads B as packed f16 (gemv directly, the others through a widened copy)', async (ctx) => {
      skip(ctx);
      const layout = 'nt';
      await check({ ...plain, layout, M: 12, N: 40, K: 24, offsetB: 8, relu: true, bF16: true, seed: 7 }, variant);
      if (!gemv) return; // the widened copy is all that differs from the f32 path
      await check({ ...plain, layout, M: 1, N: 37, K: 64, bias: true, bF16: true }, variant);
      await check({ ...plain, layout, M: 2, N: 29, K: 13, batch: 2, offsetB: 3, padB: 5, accumulate: true, alpha: -2, bF16: true, seed: 6 }, variant);
    });

    it('runs here, or refuses with the reason and is never the default choice', async () => {
      const g = gpu();
      const why = refusal();
      if (why === null) {
        await check({ ...plain, layout: 'nt', M: 3, N: 5, K: 7 }, variant);
        return;
      }
      const x = g.alloc(16);
      try {
        expect(() => matmul(g, { a: x, b: x, c: x, M: 1, N: 1, K: 1, variant })).toThrow(why);
        const kernels: string[] = [];
        const dispatch = g.dispatch.bind(g);
        g.dispatch = (d) => (kernels.push(d.kernel), dispatch(d));
        try {
          for (const layout of ['nn', 'nt', 'tn'] as const) {
            for (const [M, K] of [[1, 8], [64, 64], [64, 8192]]) await check({ ...plain, layout, M, N: 64, K }, undefined);
          }
        } finally {
          g.dispatch = dispatch;
        }
        expect(kernels.filter((k) => k.startsWith('matmul-subgroup'))).toEqual([]);
      } finally {
        g.release(x);
      }
    });

    it('shares one operand across the batch with a stride of 0 (B, then A)', async (ctx) => {
      skip(ctx);
      const g = gpu();
      const [M, N, K, batch] = [8, 12, 16, 3];
      for (const layout of gemv ? (['nt'] as const) : (['nn', 'nt', 'tn'] as const)) {
        for (const shared of ['B', 'A'] as const) {
          const a = data((shared === 'A' ? 1 : batch) * M * K, 3);
          const b = data((shared === 'B' ? 1 : batch) * K * N, 4);
          const [ba, bb, bc] = [uploadF32(g, a), uploadF32(g, b), g.alloc(4 * batch * M * N)];
          const strides = shared === 'B' ? { strideB: 0 } : { strideA: 0 };
          matmul(g, { a: ba, b: bb, c: bc, M, N, K, layout, batch, ...strides, variant });
          const got = await g.readF32(bc, 0, batch * M * N);
          [ba, bb, bc].forEach((x) => g.release(x));
          const want = new Float64Array(batch * M * N);
          for (let z = 0; z < batch; z++) {
            const az = shared === 'A' ? a : a.subarray(z * M * K, (z + 1) * M * K);
            const bz = shared === 'B' ? b : b.subarray(z * K * N, (z + 1) * K * N);
            want.set(matmulRef(az, bz, M, N, K, layout), z * M * N);
          }
          expectClose(got, want, TOLERANCE.f32, `${variant} ${layout} stride${shared}=0`);
        }
      }
    });
  });
}

describe('matmul variant choice', () => {
  it("routes 'nt' with M <= 4 to gemv and larger M to the tile kernels", async () => {
    const g = gpu();
    const kernels: string[] = [];
    const dispatch = g.dispatch.bind(g);
    g.dispatch = (d) => {
      kernels.push(d.kernel);
      dispatch(d);
    };
    try {
      for (const [M, layout] of [[1, 'nt'], [4, 'nt'], [5, 'nt'], [1, 'nn'], [1, 'tn']] as const) {
        await check({ ...plain, layout, M, N: 37, K: 24, bias: true }, undefined);
      }
    } finally {
      g.dispatch = dispatch;
    }
    const chosen = kernels.filter((k) => k.startsWith('matmul')).map((k) => k.slice(0, k.indexOf('(')));
    expect(chosen.slice(0, 2)).toEqual(['matmul-gemv', 'matmul-gemv']);
    expect(chosen.slice(2)).not.toContain('matmul-gemv');
  });

  it("on lavapipe, copies large-C 'tn' and long-K 'nn' operands into 'nt' and runs the others in place", async (ctx) => {
    const g = gpu();
    const lanes = subgroupMatmulLanes(g);
    if (!lanes.ok) ctx.skip(lanes.why);
    if (!g.adapter.isSoftware) ctx.skip('the subgroup variants are the default only on lavapipe');
    const kernels: string[] = [];
    const dispatch = g.dispatch.bind(g);
    g.dispatch = (d) => {
      kernels.push(d.kernel);
      dispatch(d);
    };
    const names = async (c: Case) => {
      kernels.length = 0;
      await check(c, undefined);
      return kernels.filter((k) => k.startsWith('matmul')).map((k) => k.slice(0, k.indexOf(',')));
    };
    try {
      expect(await names({ ...plain, layout: 'tn', M: 256, N: 256, K: 20, accumulate: true })).toEqual([
        'matmul-transpose(R=20',
        'matmul-transpose(R=20',
        'matmul-subgroup(nt-vec4',
      ]);
      expect(await names({ ...plain, layout: 'tn', M: 36, N: 40, K: 20, accumulate: true })).toEqual(['matmul-subgroup(tn-vec4']);
      expect(await names({ ...plain, layout: 'nn', M: 8, N: 12, K: 8192, bias: true })).toEqual(['matmul-transpose(R=8192', 'matmul-subgroup(nt-vec4']);
      expect(await names({ ...plain, layout: 'nn', M: 36, N: 40, K: 20 })).toEqual(['matmul-subgroup(nn-vec4']);
    } finally {
      g.dispatch = dispatch;
    }
  });

  it("refuses 'gemv' for layouts other than 'nt'", () => {
    const g = gpu();
    const x = g.alloc(16);
    expect(() => matmul(g, { a: x, b: x, c: x, M: 1, N: 1, K: 1, layout: 'nn', variant: 'gemv' })).toThrow(/'nt'/);
    g.release(x);
  });

  it('2x3 by 3x2 with the default variant', async () => {
    const g = gpu();
    const [ba, bb, bc] = [uploadF32(g, [1, 2, 3, 4, 5, 6]), uploadF32(g, [7, 8, 9, 10, 11, 12]), g.alloc(16)];
    matmul(g, { a: ba, b: bb, c: bc, M: 2, N: 2, K: 3 });
    expectClose(await g.readF32(bc, 0, 4), [58, 64, 139, 154], TOLERANCE.f32);
    [ba, bb, bc].forEach((x) => g.release(x));
  });

});

describe('biasGrad', () => {
  async function run(dY: Float32Array, start: Float32Array, M: number, N: number): Promise<Float32Array> {
    const g = gpu();
    const [bdY, bdB] = [uploadF32(g, dY), uploadF32(g, start)];
    biasGrad(g, { dY: bdY, dBias: bdB, M, N });
    const r = await g.readF32(bdB, 0, N);
    [bdY, bdB].forEach((x) => g.release(x));
    return r;
  }

  // Lavapipe's layout (one subgroup per workgroup, vec4 columns) and the GPUs' (64 lanes, scalar).
  forEachMemoryBoundVariant(gpu, () => {
    it('adds the column sums of dY into dBias for random shapes', async () => {
      await fc.assert(
        fc.asyncProperty(dim(300), dim(150), fc.integer({ min: 1, max: 1 << 30 }), async (M, N, seed) => {
          const dY = data(M * N, seed);
          const start = data(N, seed + 1);
          const want = Float64Array.from(start);
          for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[j] += dY[i * N + j];
          expectClose(await run(dY, start, M, N), want, TOLERANCE.f32Reduction, `biasGrad M=${M} N=${N}`);
        }),
        { numRuns: draws(20) },
      );
    });

    it('fixed case: 3x2 into [10, 20], the same bits on every run', async () => {
      const dY = Float32Array.of(1, 2, 3, 4, 5, 6);
      const r1 = await run(dY, Float32Array.of(10, 20), 3, 2);
      expectClose(r1, [19, 32], TOLERANCE.f32);
      const big = data(1000 * 7, 42);
      const [x, y] = [await run(big, new Float32Array(7), 1000, 7), await run(big, new Float32Array(7), 1000, 7)];
      expect([...x]).toEqual([...y]);
    });
  });
});
