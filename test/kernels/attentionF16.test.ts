/**
 * Attention over f16 k and v (an f16 KV cache: IEEE halves packed two per u32, widened on read,
 * f32 arithmetic) in both variants, and the packing kernel that writes such a cache. Against the
 * f32 attention on the same values rounded to f16 (the same arithmetic, so TOLERANCE.f32) and
 * against the float64 reference on the unrounded values (TOLERANCE.f16).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward, type AttentionVariant } from '../../src/kernels/attention/attention.js';
import { f32ToF16 } from '../../src/kernels/casts.js';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { f32ToF16Bits } from '../../src/model/checkpoint/dtypes.js';
import { dim, draws, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { attentionReference, type AttentionProblem } from '../reference/attention.js';
import { f16Value } from '../reference/casts.js';
import { largest } from '../reference/largest.js';

const gpu = useGpu();

/** x rounded to f16 (round to nearest even), and its halves packed two per u32, element 2i low. */
function halves(x: Float32Array): { rounded: Float32Array; packed: Uint16Array } {
  const packed = new Uint16Array(2 * Math.ceil(x.length / 2));
  x.forEach((v, i) => (packed[i] = f32ToF16Bits(v)));
  return { rounded: Float32Array.from(packed.subarray(0, x.length), f16Value), packed };
}

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** attentionForward's out, with k and v uploaded as f32 or as packed halves. */
async function forward(g: Gpu, variant: AttentionVariant, P: AttentionProblem, x: Inputs, kvDtype: 'f32' | 'f16'): Promise<Float32Array> {
  const C = P.NH * P.HS;
  const q = uploadF32(g, x.q);
  const [k, v] = [x.k, x.v].map((a) => (kvDtype === 'f16' ? g.upload(halves(a).packed) : uploadF32(g, a)));
  const out = g.alloc(P.B * P.Tq * C * 4);
  const mask = P.mask ? g.upload(Uint32Array.from(P.mask)) : undefined;
  attentionForward(g, { q, k: k!, v: v!, out, B: P.B, NH: P.NH, HS: P.HS, Tq: P.Tq, Tk: P.Tk, kvRows: P.kvRows, mask, scale: P.scale, variant, kvDtype });
  const got = await g.readF32(out, 0, P.B * P.Tq * C);
  [q, k, v, out, mask].forEach((b) => b && g.release(b));
  return got;
}

/** f16 k/v against f32 k/v rounded to f16, and against the float64 reference on the unrounded values. */
async function check(variant: AttentionVariant, P: AttentionProblem, x: Inputs): Promise<void> {
  const g = gpu();
  const got = await forward(g, variant, P, x, 'f16');
  for (const o of got) expect(Number.isFinite(o)).toBe(true);
  const rounded = { q: x.q, k: halves(x.k).rounded, v: halves(x.v).rounded };
  expectClose(got, await forward(g, variant, P, rounded, 'f32'), TOLERANCE.f32, 'f16 k/v against f32 k/v rounded to f16');
  // An output is Σ p·v: v's rounding errs relative to the terms (max Σ p·|v|), not to a sum that
  // cancels. And f16 is relative only down to its normals (subnormal halves are off by up to 2^-25,
  // smaller values round to 0), so the term scale never goes below what allows 2^-25.
  const terms = Math.max(largest(attentionReference(P, x.q, x.k, x.v.map(Math.abs)).out), 2 ** -25 / TOLERANCE.f16.atolScaled);
  expectClose(got, attentionReference(P, x.q, x.k, x.v).out, TOLERANCE.f16, 'f16 k/v against the float64 reference', terms);
}

/**
 * Prefill (Tq = Tk = kvRows) or decoding (Tq of 1..5 new rows after `past` cached ones, in a
 * cache of kvRows >= Tk rows), with left padding per sequence (some all padding). Odd HS and
 * odd NH·HS put rows and heads at odd elements, mid-word.
 */
const problem = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    NH: fc.integer({ min: 1, max: 3 }),
    HS: fc.constantFrom(1, 3, 4, 5, 8, 16),
    prefill: fc.boolean(),
    T: dim(40),
    Tq: fc.integer({ min: 1, max: 5 }),
    spare: fc.integer({ min: 0, max: 7 }),
    useMask: fc.boolean(),
  })
  .chain((s) => {
    const Tq = s.prefill ? s.T : s.Tq;
    const Tk = s.prefill ? s.T : s.T + s.Tq;
    const kvRows = s.prefill ? Tk : Tk + s.spare;
    const C = s.NH * s.HS;
    const mask = s.useMask
      ? fc.array(fc.integer({ min: 0, max: Tk }), { minLength: s.B, maxLength: s.B }).map((pads) => pads.flatMap((pd) => Array.from({ length: kvRows }, (_, t) => (t < pd ? 0 : 1))))
      : fc.constant(null);
    return fc.record({
      P: fc.record({
        B: fc.constant(s.B),
        NH: fc.constant(s.NH),
        HS: fc.constant(s.HS),
        Tq: fc.constant(Tq),
        Tk: fc.constant(Tk),
        kvRows: fc.constant(kvRows),
        scale: fc.constant(1 / Math.sqrt(s.HS)),
        mask,
        seg: fc.constant(null),
      }),
      x: fc.record({ q: values(s.B * Tq * C, 4), k: values(s.B * kvRows * C, 4), v: values(s.B * kvRows * C) }),
    });
  });

describe.each(['flash', 'scores'] as const)('attention with f16 k and v, %s', (variant) => {
  it('matches f32 k/v rounded to f16, and the float64 reference (prefill and decoding, left padding, odd HS)', async () => {
    await fc.assert(
      fc.asyncProperty(problem, async ({ P, x }) => check(variant, P, x)),
      { numRuns: draws(12) },
    );
  });

  it("fixed case: OPT's head size 64, decoding one row after 40 cached, 48 rows of capacity", async () => {
    const P: AttentionProblem = { B: 1, NH: 2, HS: 64, Tq: 1, Tk: 41, kvRows: 48, scale: 0.125, mask: null, seg: null };
    await check(variant, P, { q: seededValues(128, 9, 2), k: seededValues(48 * 128, 10, 2), v: seededValues(48 * 128, 11) });
  });

  it('fixed case: NH·HS = 9 (rows start mid-word), decoding 2 rows after 13 cached with one left pad', async () => {
    const B = 2;
    const kvRows = 18;
    const P: AttentionProblem = { B, NH: 3, HS: 3, Tq: 2, Tk: 15, kvRows, scale: 0.6, mask: Array.from({ length: B * kvRows }, (_, i) => (i % kvRows < 1 ? 0 : 1)), seg: null };
    await check(variant, P, { q: seededValues(B * 2 * 9, 1), k: seededValues(B * kvRows * 9, 2), v: seededValues(B * kvRows * 9, 3) });
  });
});

describe('attention with f16 k and v: refusals', () => {
  it('backward refuses f16 k/v, naming the kernel and shapes', () => {
    const g = gpu();
    const buf = g.alloc(256);
    const common = { q: buf, k: buf, v: buf, out: buf, lse: buf, dOut: buf, dQ: buf, dK: buf, dV: buf, B: 1, NH: 1, HS: 4, T: 3, scale: 1 };
    expect(() => attentionBackward(g, { ...common, kvDtype: 'f16' })).toThrow(/attentionBackward has no f16 k\/v \(B=1, NH=1, HS=4, T=3\)/);
    g.release(buf);
  });
});

/** Runs f32ToF16 over `blocks` runs into a destination prefilled with 0xdeadbeef; returns its words. */
async function pack(x: Float32Array, a: { words: number; blocks: number; srcStride: number; dstOffset: number; dstStride: number; dstWords: number }): Promise<Uint32Array> {
  const g = gpu();
  const src = g.upload(x);
  const dst = g.upload(new Uint32Array(a.dstWords).fill(0xdeadbeef));
  f32ToF16(g, { src, dst, ...a });
  const words = new Uint32Array(await g.read(dst, 0, a.dstWords * 4));
  [src, dst].forEach((b) => g.release(b));
  return words;
}

/**
 * f32 bit patterns: anything but NaN (whose payload JS numbers need not keep; the fixed case has
 * one), or values near f16's range.
 */
const f32Bits = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).filter((b) => (b & 0x7fffffff) <= 0x7f800000),
  fc.float({ min: -70000, max: 70000, noNaN: true }).map((f) => new Uint32Array(new Float32Array([f]).buffer)[0]!),
  fc.float({ min: Math.fround(-1e-4), max: Math.fround(1e-4), noNaN: true }).map((f) => new Uint32Array(new Float32Array([f]).buffer)[0]!),
);

/** f32ToF16Bits of each f32 bit pattern, as packed words (element 2i in the low half). */
function expectedWords(bits: Uint32Array): Uint32Array {
  const f = new Float32Array(bits.buffer.slice(0));
  const h = new Uint16Array(bits.length);
  f.forEach((v, i) => (h[i] = f32ToF16Bits(v)));
  return new Uint32Array(h.buffer);
}

describe('f32ToF16 (the f16 KV cache writer)', () => {
  it('rounds to nearest even exactly as dtypes.ts does: ±inf, overflow, subnormals', async () => {
    await fc.assert(
      fc.asyncProperty(dim(60).chain((n) => fc.array(f32Bits, { minLength: 2 * n, maxLength: 2 * n })), async (a) => {
        const bits = Uint32Array.from(a);
        const got = await pack(new Float32Array(bits.buffer), { words: bits.length / 2, blocks: 1, srcStride: 0, dstOffset: 0, dstStride: 0, dstWords: bits.length / 2 });
        expect(Array.from(got)).toEqual(Array.from(expectedWords(bits)));
      }),
      { numRuns: draws(15) },
    );
  });

  it('fixed case: ties to even, the overflow edge, the smallest subnormal', async () => {
    const x = Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.996, 65520, -1e6, 2 ** -25, 2 ** -25 * 1.5, 3 * 2 ** -25, -0, Infinity, NaN);
    const got = await pack(x, { words: 6, blocks: 1, srcStride: 0, dstOffset: 0, dstStride: 0, dstWords: 6 });
    const h = new Uint16Array(got.buffer);
    expect(Array.from(h)).toEqual([0x3c00, 0x3c02, 0x7bff, 0x7bff, 0x7c00, 0xfc00, 0x0000, 0x0001, 0x0002, 0x8000, 0x7c00, 0x7e00]);
  });

  it('writes only its runs: blocks at a stride and offset leave the words between them alone', async () => {
    const x = seededValues(2 * 6, 4);
    const got = await pack(x, { words: 2, blocks: 2, srcStride: 6, dstOffset: 1, dstStride: 5, dstWords: 10 });
    const want = expectedWords(new Uint32Array(x.buffer));
    expect(Array.from(got)).toEqual([0xdeadbeef, want[0], want[1], 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, want[3], want[4], 0xdeadbeef, 0xdeadbeef]);
  });
});
