import type { Gpu } from '../runtime/device.js';
import { grid1d, Params } from '../runtime/params.js';

// Rotary position embedding in the rotate-half convention of Hugging Face's Llama family: for each
// head, dims i and i + HS/2 form a pair rotated by the angle of the row's position and frequency i:
//   out[i] = x[i]·cos − x[i + HS/2]·sin,   out[i + HS/2] = x[i + HS/2]·cos + x[i]·sin.
// cos and sin come per row from the host ([rows, HS/2]), so positions (left padding, caches) are
// the model's business. The backward is the rotation by the opposite angle: the same kernel with
// sin negated. One invocation per pair; no reductions, so any subgroup width gives the same bits.
const LANES = 64;

const wgsl = (acc: boolean) => /* wgsl */ `
struct P { pairs: u32, heads: u32, half: u32, nx: u32, sign: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cosT: array<f32>;
@group(0) @binding(2) var<storage, read> sinT: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (k >= p.pairs) { return; }
  let i = k % p.half;
  let rowHead = k / p.half;
  let row = rowHead / p.heads;
  let a = rowHead * 2u * p.half + i;
  let b = a + p.half;
  let c = cosT[row * p.half + i];
  let s = p.sign * sinT[row * p.half + i];
  let x1 = x[a];
  let x2 = x[b];
  ${acc ? 'y[a] += x1 * c - x2 * s;\n  y[b] += x2 * c + x1 * s;' : 'y[a] = x1 * c - x2 * s;\n  y[b] = x2 * c + x1 * s;'}
}`;

/**
 * y = rope(x) over x[rows, heads, HS] with per-row angles cos/sin [rows, HS/2]; `inverse` rotates
 * back (the backward: dX = rope⁻¹(dY)); `accumulate` adds into y. HS must be even.
 */
export function rotaryEmbedding(
  gpu: Gpu,
  a: { x: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer; y: GPUBuffer; rows: number; heads: number; HS: number; inverse?: boolean; accumulate?: boolean },
): void {
  const { rows, heads, HS } = a;
  if (HS % 2 !== 0) throw new Error(`kiln: rotary embedding needs an even head size, got ${HS}`);
  const half = HS / 2;
  const pairs = rows * heads * half;
  const acc = a.accumulate ?? false;
  const { workgroups, nx } = grid1d(Math.ceil(pairs / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
  const bytes = rows * heads * HS * 4;
  gpu.dispatch({
    kernel: `rotaryEmbedding(rows=${rows},heads=${heads},HS=${HS}${a.inverse ? ',inverse' : ''}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`rotaryEmbedding${acc ? '_acc' : ''}`, wgsl(acc)),
    bindings: [{ buffer: a.x, size: bytes }, { buffer: a.cos, size: rows * half * 4 }, { buffer: a.sin, size: rows * half * 4 }, { buffer: a.y, size: bytes }],
    params: new Params().u32(pairs).u32(heads).u32(half).u32(nx).f32(a.inverse ? -1 : 1).bytes(),
    workgroups,
  });
}
