import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32 } from '../../src/kernels/casts.js';
import { dim, draws } from '../helpers/arbitraries.js';
import { useGpu } from '../helpers/gpu.js';
import { bf16Value, f16Value } from '../reference/casts.js';

const gpu = useGpu();

async function run(kind: 'f16' | 'bf16', halves: Uint16Array): Promise<Float32Array> {
  const g = gpu();
  const n = halves.length;
  const packed = new Uint16Array(2 * Math.ceil(n / 2));
  packed.set(halves);
  const src = g.upload(packed);
  const dst = g.upload(new Float32Array(n + 4).fill(-7));
  (kind === 'f16' ? f16ToF32 : bf16ToF32)(g, { src, dst, n });
  const out = await g.readF32(dst, 0, n + 4);
  [src, dst].forEach((b) => g.release(b));
  expect(Array.from(out.subarray(n))).toEqual([-7, -7, -7, -7]); // nothing written past n
  return out.subarray(0, n);
}

// Finite, non-NaN bit patterns (exponent not all ones) of either format.
const finiteHalves = (n: number, expMask: number) =>
  fc.array(fc.integer({ min: 0, max: 0xffff }).filter((h) => (h & expMask) !== expMask), { minLength: n, maxLength: n }).map((a) => Uint16Array.from(a));

describe('casts', () => {
  it('f16 → f32 is exact for every finite value, subnormals included', async () => {
    await fc.assert(
      fc.asyncProperty(dim(3000).chain((n) => finiteHalves(n, 0x7c00)), async (h) => {
        expect(Array.from(await run('f16', h))).toEqual(Array.from(h, f16Value));
      }),
      { numRuns: draws(15) },
    );
  });

  it('bf16 → f32 is exact', async () => {
    await fc.assert(
      fc.asyncProperty(dim(3000).chain((n) => finiteHalves(n, 0x7f80)), async (h) => {
        expect(Array.from(await run('bf16', h))).toEqual(Array.from(h, bf16Value));
      }),
      { numRuns: draws(15) },
    );
  });

  it('fixed case: 1, -2, 65504, the smallest subnormal and ±0 (odd length)', async () => {
    const h = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000);
    expect(Array.from(await run('f16', h))).toEqual([1, -2, 65504, 2 ** -24, -0]);
  });
});
