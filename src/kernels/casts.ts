import type { Gpu } from './runtime/device.js';
import { grid1d, Params } from './runtime/params.js';
import { bindableRanges } from './runtime/slices.js';

const WG = 256;

// Checkpoints ship f16 or bf16 halves packed two per u32 (little-endian: element 2i in the low
// half). One lane widens one u32 into two floats; an odd n leaves the last high half unread.
// f16 uses WGSL's unpack2x16float (exact, subnormals included); bf16 is the top half of an f32.
const wgsl = (kind: 'f16' | 'bf16') => /* wgsl */ `
struct P { n: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (2u * i >= p.n) { return; }
  let u = src[i];
  ${kind === 'f16' ? 'let f = unpack2x16float(u);' : 'let f = vec2f(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u));'}
  dst[2u * i] = f.x;
  if (2u * i + 1u < p.n) { dst[2u * i + 1u] = f.y; }
}`;

function cast(gpu: Gpu, kind: 'f16' | 'bf16', a: { src: GPUBuffer; dst: GPUBuffer; n: number }): void {
  const pairs = Math.ceil(a.n / 2);
  for (const r of bindableRanges(gpu.limits, pairs, [4, 8])) {
    const n = Math.min(2 * r.count, a.n - 2 * r.start);
    const { workgroups, nx } = grid1d(Math.ceil(r.count / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
    gpu.dispatch({
      kernel: `${kind}ToF32(n=${a.n})`,
      pipeline: gpu.pipeline(`${kind}ToF32`, wgsl(kind)),
      bindings: [{ buffer: a.src, offset: r.start * 4, size: r.count * 4 }, { buffer: a.dst, offset: r.start * 8, size: n * 4 }],
      params: new Params().u32(n).u32(nx).bytes(),
      workgroups,
    });
  }
}

/** dst[0..n) = f32 of the IEEE half-precision values packed two per u32 in src. */
export function f16ToF32(gpu: Gpu, a: { src: GPUBuffer; dst: GPUBuffer; n: number }): void {
  cast(gpu, 'f16', a);
}

/** dst[0..n) = f32 of the bfloat16 values packed two per u32 in src. */
export function bf16ToF32(gpu: Gpu, a: { src: GPUBuffer; dst: GPUBuffer; n: number }): void {
  cast(gpu, 'bf16', a);
}

// The narrowing direction, for the f16 KV cache: f32 to IEEE halves, round to nearest even,
// overflow to ±inf and NaN kept, bit for bit as dtypes.ts's f32ToF16Bits. In integer arithmetic
// because WGSL leaves pack2x16float's rounding to the implementation and its out-of-range
// results undefined. A normal half rebiases the exponent (-112 << 23) and rounds the 13 dropped
// bits by adding 0xfff plus the kept lsb (a carry correctly bumps the exponent); a subnormal half
// is round(|x|·2^24), WGSL's round() being round-half-to-even.
const packWgsl = /* wgsl */ `
struct P { words: u32, blocks: u32, nx: u32, srcStride: u32, dstOffset: u32, dstStride: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: P;

fn toHalf(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  let sign = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u | ((a >> 13u) & 0x3ffu); }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) { return sign | ((a + 0xc8000fffu + ((a >> 13u) & 1u)) >> 13u); }
  return sign | u32(round(bitcast<f32>(a) * 16777216.0));
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (e >= p.words * p.blocks) { return; }
  let blk = e / p.words;
  let i = e % p.words;
  let s = blk * p.srcStride + 2u * i;
  dst[p.dstOffset + blk * p.dstStride + i] = toHalf(src[s]) | (toHalf(src[s + 1u]) << 16u);
}`;

/**
 * Packs `blocks` runs of 2·words f32s into IEEE halves: words u32s of dst at dstOffset +
 * b·dstStride (in u32s) from src at b·srcStride (in f32s), for b < blocks. Whole u32s only, so
 * every run must start at an even element of the packed tensor (see kvCache.ts).
 */
export function f32ToF16(
  gpu: Gpu,
  a: { src: GPUBuffer; dst: GPUBuffer; words: number; blocks: number; srcStride: number; dstOffset: number; dstStride: number },
): void {
  const n = a.words * a.blocks;
  if (n === 0) return;
  const { workgroups, nx } = grid1d(Math.ceil(n / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `f32ToF16(words=${a.words},blocks=${a.blocks})`,
    pipeline: gpu.pipeline('f32ToF16', packWgsl),
    bindings: [a.src, a.dst],
    params: new Params().u32(a.words).u32(a.blocks).u32(nx).u32(a.srcStride).u32(a.dstOffset).u32(a.dstStride).bytes(),
    workgroups,
  });
}
