import fc from 'fast-check';

/**
 * Dimension sizes that catch tiling bugs: 1, primes, and values just off the multiples of the
 * tile sizes kernels use (4, 8, 16, 32, 64), plus ordinary random sizes up to `max`.
 */
export function dim(max = 97): fc.Arbitrary<number> {
  const special = [1, 2, 3, 5, 7, 13, 17, 31, 33, 47, 63, 65, 67, 97, 127, 129].filter((d) => d <= max);
  return fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...special) }, { weight: 2, arbitrary: fc.integer({ min: 1, max }) });
}

/**
 * Float32-representable values, mostly O(1) with some large magnitudes (up to ±`big`). Kernel
 * tests that sum many products keep `big` moderate so the float64 reference stays meaningful.
 */
export function values(n: number, big = 1e3): fc.Arbitrary<Float32Array> {
  const small = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
  const large = fc.float({ min: Math.fround(-big), max: Math.fround(big), noNaN: true, noDefaultInfinity: true });
  return fc
    .array(fc.oneof({ weight: 9, arbitrary: small }, { weight: 1, arbitrary: large }), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a));
}

/** A seeded pseudo-random Float32Array for sizes too large to draw element by element. */
export function seededValues(n: number, seed: number, amplitude = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // xorshift32: fast, deterministic, good enough for test data.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 0xffffffff) * 2 - 1) * amplitude;
  }
  return out;
}

/**
 * Draws per property: `n`, or KILN_PROPERTY_DRAWS when that is set and smaller. CI's extra runs at
 * other subgroup sizes (.ci/run) take fewer draws to stay within minutes; `npm test` takes all.
 */
export function draws(n: number): number {
  const cap = Number(process.env.KILN_PROPERTY_DRAWS);
  return Number.isInteger(cap) && cap >= 1 ? Math.min(n, cap) : n;
}
