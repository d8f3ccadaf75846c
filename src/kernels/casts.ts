import type { Gpu } from './device.js';
import { grid1d, Params } from './params.js';
import { bindableRanges } from './slices.js';

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
      cost: { bytes: 6 * n },
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
