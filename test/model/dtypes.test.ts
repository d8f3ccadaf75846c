import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  bf16BitsToF32,
  decodeToF32,
  encodeFromF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from '../../src/model/checkpoint/dtypes.js';

// References built independently of the code under test: f16 decoded by its definition, bf16 as
// the top half of an f32 through DataView, and narrowing as "the nearest representable value,
// ties to the even bit pattern", found by search over all finite values of the narrow format.

function referenceF16ToF32(bits: number): number {
  const sign = bits >> 15 ? -1 : 1;
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  if (e === 31) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * 2 ** -14 * (m / 1024) : sign * 2 ** (e - 15) * (1 + m / 1024);
}

function referenceBf16ToF32(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint16(0, bits, false); // big-endian: these are the high 16 bits of the f32
  return view.getFloat32(0, false);
}

/** Positive finite values of a 16-bit format, ascending, then the value where rounding gives inf. */
function positiveLadder(decode: (bits: number) => number, maxFinite: number, infBits: number) {
  const bits: number[] = [];
  for (let b = 0; b <= maxFinite; b++) bits.push(b);
  const values = bits.map(decode);
  // Overflow rounds to inf exactly where the next step past the largest finite value would be.
  const top = values[values.length - 1]!;
  values.push(top + (top - values[values.length - 2]!));
  bits.push(infBits);
  return { bits, values };
}

function referenceNarrow(ladder: { bits: number[]; values: number[] }, signBit: number, x: number) {
  const v = Math.fround(x);
  const sign = v < 0 || Object.is(v, -0) ? signBit : 0;
  const a = Math.abs(v);
  const { bits, values } = ladder;
  if (a >= values[values.length - 1]!) return sign | bits[bits.length - 1]!;
  let lo = 0;
  let hi = values.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - values[lo]!;
  const dHi = values[hi]! - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : bits[lo]! % 2 === 0 ? lo : hi;
  return sign | bits[pick]!;
}

const f16Ladder = positiveLadder(referenceF16ToF32, 0x7bff, 0x7c00);
const bf16Ladder = positiveLadder(referenceBf16ToF32, 0x7f7f, 0x7f80);

const anyF32 = fc.oneof(
  fc.float({ noNaN: true }),
  fc.float({ noNaN: true, min: -70000, max: 70000 }),
  fc.float({ noNaN: true, min: Math.fround(-1e-4), max: Math.fround(1e-4) }), // f16 subnormal range
  fc.integer({ min: 0, max: 0xffff }).map(referenceF16ToF32), // exact f16 values and their ties
  fc.integer({ min: 0, max: 0xfffe }).map((b) => (referenceF16ToF32(b) + referenceF16ToF32(b + 1)) / 2),
).filter((x) => !isNaN(x));

describe('f16 and bf16 widening', () => {
  it('matches the definition for every one of the 65536 f16 patterns', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const got = f16BitsToF32(bits);
      const want = referenceF16ToF32(bits);
      if (!Object.is(got, want) && !(isNaN(got) && isNaN(want))) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('matches DataView for every one of the 65536 bf16 patterns', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const got = bf16BitsToF32(bits);
      const want = referenceBf16ToF32(bits);
      if (!Object.is(got, want) && !(isNaN(got) && isNaN(want))) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('decodeToF32 agrees with the scalar conversions, from an unaligned buffer too', () => {
    const halves = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(halves.length * 2 + 1);
    bytes.set(new Uint8Array(halves.buffer), 1);
    const f16 = decodeToF32(bytes.subarray(1), 'F16');
    const bf16 = decodeToF32(bytes.subarray(1), 'BF16');
    for (let i = 0; i < 65536; i += 7) {
      expect(Object.is(f16[i], Math.fround(f16BitsToF32(i))) || isNaN(f16[i]!)).toBe(true);
      expect(Object.is(bf16[i], bf16BitsToF32(i)) || isNaN(bf16[i]!)).toBe(true);
    }
  });
});

describe('f32 narrowing, round to nearest even', () => {
  it('f32 -> f16 picks the nearest f16 (ties to even), overflow to inf', () => {
    fc.assert(
      fc.property(anyF32, (x) => {
        expect(f32ToF16Bits(x)).toBe(referenceNarrow(f16Ladder, 0x8000, x));
      }),
      { numRuns: 3000 },
    );
  });

  it('f32 -> bf16 picks the nearest bf16 (ties to even), overflow to inf', () => {
    const bf16Ties = fc
      .integer({ min: 0, max: 0x7f7e })
      .map((b) => (referenceBf16ToF32(b) + referenceBf16ToF32(b + 1)) / 2);
    fc.assert(
      fc.property(fc.oneof(anyF32, bf16Ties), (x) => {
        expect(f32ToBf16Bits(x)).toBe(referenceNarrow(bf16Ladder, 0x8000, x));
      }),
      { numRuns: 3000 },
    );
  });

  it('every f16 and bf16 value survives a round trip through f32', () => {
    const mismatches: string[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      if (!isNaN(f16BitsToF32(bits)) && f32ToF16Bits(f16BitsToF32(bits)) !== bits) mismatches.push(`f16 ${bits}`);
      if (!isNaN(bf16BitsToF32(bits)) && f32ToBf16Bits(bf16BitsToF32(bits)) !== bits) mismatches.push(`bf16 ${bits}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('named edges: NaN stays NaN, inf stays inf, f32 max overflows, tiny values flush to signed zero', () => {
    expect(isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    expect(isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // exactly half the smallest subnormal: tie to even 0
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16Bits(-1e-30)).toBe(0x8000);
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
  });

  it('encodeFromF32 then decodeToF32 is the identity on values already in the format', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 64 }), (bitsList) => {
        const finite = bitsList.filter((b) => !isNaN(f16BitsToF32(b)));
        const values = Float32Array.from(finite, f16BitsToF32);
        expect(Array.from(decodeToF32(encodeFromF32(values, 'F16'), 'F16'))).toEqual(Array.from(values));
        expect(Array.from(decodeToF32(encodeFromF32(values, 'F32'), 'F32'))).toEqual(Array.from(values));
      }),
    );
  });
});
