/**
 * The floating-point storage formats kiln reads and writes (F32, F16, BF16) and exact conversions
 * between them and f32. Weights are always trained in f32; F16 and BF16 appear only in checkpoint
 * files. Conversions to the narrow formats round to nearest, ties to even, as PyTorch's `.half()`
 * and `.bfloat16()` do; NaN stays NaN (quiet) and overflow becomes infinity.
 *
 * Byte order is little-endian throughout, as in safetensors and PyTorch's zip format; kiln runs
 * only on little-endian hosts (x86-64, arm64), so typed-array views over file bytes are used as is.
 */

export type DType = 'F32' | 'F16' | 'BF16';

export const dtypeByteSize: Readonly<Record<DType, number>> = { F32: 4, F16: 2, BF16: 2 };

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * f16 bit pattern to f32 value: every f16 is exactly representable in f32, so this is exact.
 * Layout: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero or subnormal: m * 2^-14 / 1024
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** f32 value (any JS number is first rounded to f32) to f16 bits, round to nearest even. */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00 | (mantissa >>> 13));
  // Unbiased exponent e; f16 normals have e in [-14, 15].
  const e = exponent - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // Normal f16: keep 10 of the 23 mantissa bits, round the 13 dropped ones to nearest even.
    // A carry out of the mantissa correctly bumps the exponent (and reaches 0x7c00 = inf).
    let half = ((e + 15) << 10) | (mantissa >>> 13);
    const dropped = mantissa & 0x1fff;
    if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  if (e < -25) return sign; // below half the smallest subnormal (2^-25): rounds to zero
  // Subnormal f16: value = m * 2^-24 with m < 1024. Shift the full 24-bit significand.
  const significand = mantissa | 0x800000;
  const shift = -e - 1; // e=-15 -> 14, e=-25 -> 24: significand >> shift is m
  let half = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (dropped > halfway || (dropped === halfway && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** bf16 is the top half of an f32, so widening is a shift and exact for every pattern. */
export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0]!;
}

/** f32 value to bf16 bits, round to nearest even; NaN stays a quiet NaN with its sign. */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// All 65536 f16 values, built once on first use: widening a large f16 checkpoint is then one
// table lookup per element.
let f16Table: Float32Array | null = null;
function f16ToF32Table(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToF32(bits);
  }
  return f16Table;
}

/**
 * Widens little-endian `dtype` elements in `bytes` to f32. `bytes` must start at an offset that is
 * a multiple of the element size (callers read tensors into fresh buffers, which are).
 */
export function decodeToF32(bytes: Uint8Array, dtype: DType): Float32Array {
  const size = dtypeByteSize[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`decodeToF32: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const count = bytes.byteLength / size;
  if (dtype === 'F32') {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    return new Float32Array(bytes.slice().buffer, 0, count);
  }
  const halves =
    bytes.byteOffset % 2 === 0
      ? new Uint16Array(bytes.buffer, bytes.byteOffset, count)
      : new Uint16Array(bytes.slice().buffer, 0, count);
  const out = new Float32Array(count);
  if (dtype === 'F16') {
    const table = f16ToF32Table();
    for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
  } else {
    const widened = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) widened[i] = halves[i]! << 16;
  }
  return out;
}

/** Narrows (or copies) f32 values to little-endian `dtype` bytes. */
export function encodeFromF32(values: Float32Array, dtype: DType): Uint8Array {
  if (dtype === 'F32') {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }
  const halves = new Uint16Array(values.length);
  const narrow = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) halves[i] = narrow(values[i]!);
  return new Uint8Array(halves.buffer);
}

export function isDType(name: string): name is DType {
  return name === 'F32' || name === 'F16' || name === 'BF16';
}
