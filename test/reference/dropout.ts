// The dropout mask in float64-free integer arithmetic: the same counter-based hash the kernel
// uses (lowbias32, two rounds with the seed folded in), so tests can check masks bit for bit.

function lowbias32(v: number): number {
  let h = v >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether element i survives dropout with drop probability p under (seed, offset). */
export function dropoutKeeps(i: number, p: number, seed: number, offset: number): boolean {
  const counter = (offset + i) >>> 0;
  const draw = lowbias32(((lowbias32((counter ^ lowbias32(seed)) >>> 0) + seed) >>> 0));
  const threshold = Math.min(0xffffffff, Math.round(p * 2 ** 32));
  return draw >= threshold;
}

/** out = x·mask/(1-p), in float64. */
export function dropoutReference(x: ArrayLike<number>, p: number, seed: number, offset: number): number[] {
  const scale = p >= 1 ? 0 : 1 / (1 - p);
  return Array.from(x, (v, i) => (dropoutKeeps(i, p, seed, offset) ? v * scale : 0));
}
