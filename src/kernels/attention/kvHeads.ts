import type { Gpu } from '../runtime/device.js';
import { grid1d, Params } from '../runtime/params.js';

// Grouped-query attention keeps NKV key/value heads; the attention kernels take one per query
// head. Expanding copies KV head j to query heads j·G .. j·G + G − 1 (G = NH / NKV, the order of
// Hugging Face's repeat_kv); its backward sums each group's G gradients into the KV head. Both
// run one invocation per output element, summing in a fixed order: no subgroup operations.
const LANES = 64;

const expandWgsl = /* wgsl */ `
struct P { n: u32, nh: u32, group: u32, hs: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> kv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (i >= p.n) { return; }
  let d = i % p.hs;
  let head = (i / p.hs) % p.nh;
  let row = i / (p.hs * p.nh);
  let nkv = p.nh / p.group;
  out[i] = kv[(row * nkv + head / p.group) * p.hs + d];
}`;

const reduceWgsl = (acc: boolean) => /* wgsl */ `
struct P { n: u32, nkv: u32, group: u32, hs: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> dOut: array<f32>;
@group(0) @binding(1) var<storage, read_write> dKv: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (i >= p.n) { return; }
  let d = i % p.hs;
  let kvHead = (i / p.hs) % p.nkv;
  let row = i / (p.hs * p.nkv);
  let nh = p.nkv * p.group;
  var s = 0.0;
  for (var g = 0u; g < p.group; g++) { s += dOut[(row * nh + kvHead * p.group + g) * p.hs + d]; }
  dKv[i] = ${acc ? 'dKv[i] + s' : 's'};
}`;

/** out[rows, NH, HS] from kv[rows, NKV, HS], each KV head repeated NH / NKV times. */
export function expandKvHeads(gpu: Gpu, a: { kv: GPUBuffer; out: GPUBuffer; rows: number; NKV: number; NH: number; HS: number }): void {
  const { rows, NKV, NH, HS } = a;
  if (NH % NKV !== 0) throw new Error(`kiln: ${NH} attention heads are not a multiple of ${NKV} key/value heads`);
  const n = rows * NH * HS;
  const { workgroups, nx } = grid1d(Math.ceil(n / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `expandKvHeads(rows=${rows},NKV=${NKV},NH=${NH},HS=${HS})`,
    pipeline: gpu.pipeline('expandKvHeads', expandWgsl),
    bindings: [{ buffer: a.kv, size: rows * NKV * HS * 4 }, { buffer: a.out, size: n * 4 }],
    params: new Params().u32(n).u32(NH).u32(NH / NKV).u32(HS).u32(nx).bytes(),
    workgroups,
  });
}

/** dKv[rows, NKV, HS] = Σ over each group of dOut[rows, NH, HS] (overwritten, or added when `accumulate`). */
export function reduceKvHeads(gpu: Gpu, a: { dOut: GPUBuffer; dKv: GPUBuffer; rows: number; NKV: number; NH: number; HS: number; accumulate?: boolean }): void {
  const { rows, NKV, NH, HS } = a;
  const acc = a.accumulate ?? false;
  const n = rows * NKV * HS;
  const { workgroups, nx } = grid1d(Math.ceil(n / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `reduceKvHeads(rows=${rows},NKV=${NKV},NH=${NH},HS=${HS}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`reduceKvHeads${acc ? '_acc' : ''}`, reduceWgsl(acc)),
    bindings: [{ buffer: a.dOut, size: rows * NH * HS * 4 }, { buffer: a.dKv, size: n * 4 }],
    params: new Params().u32(n).u32(NKV).u32(NH / NKV).u32(HS).u32(nx).bytes(),
    workgroups,
  });
}
