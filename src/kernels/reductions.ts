import type { Gpu } from './runtime/device.js';
import { grid1d, Params } from './runtime/params.js';
import { bindableRanges } from './runtime/slices.js';
import { laneReduceWgsl, memoryBoundShape, shapeKey, streamLoopWgsl, subgroupsDirective, type MemoryBoundShape } from './runtime/streaming.js';

// Deterministic two-stage sums without atomics or host readback: stage 1 gives each workgroup a
// fixed chunk and writes one partial sum; stage 2, one workgroup, adds the partials in a fixed
// order. The same input always rounds the same way. Stage 1 streams in the adapter's layout
// (streaming.ts), vec4 when the slice's length allows; each lane keeps its own partial sums and the
// lanes combine once per chunk.
const WG = 256;

const reduceWgsl = /* wgsl */ `
var<workgroup> red: array<f32, ${WG}>;
fn workgroupSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}`;

/** Elements per lane in stage 1: lavapipe's long chunks; on a GPU a few, so partials stay few. */
const perLane = (sh: MemoryBoundShape) => (sh.kind === 'cpu' ? sh.perLane : 4);

// Stage 1: part[partOffset + workgroup] = Σ x (or Σ x²) over the workgroup's chunk.
const partialsWgsl = (sh: MemoryBoundShape, w: 1 | 4, square: boolean) => /* wgsl */ `
${subgroupsDirective(sh)}
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { n: u32, partOffset: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${laneReduceWgsl(sh)}
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var s = V(0.0);${streamLoopWgsl({ ...sh, perLane: perLane(sh) }, `let v = x[i];\n    s += ${square ? 'v * v' : 'v'};`)}
  let total = laneSum(vec4f(${w === 4 ? 's.x + s.y, s.z + s.w, 0.0, 0.0' : 's, 0.0, 0.0, 0.0'}), lid);
  if (lid == 0u) { part[p.partOffset + wid.x + wid.y * p.nx] = total.x + total.y; }
}`;

// Stage 2: out[outIndex] = Σ part, one workgroup striding over the partials.
const finishWgsl = /* wgsl */ `
struct P { n: u32, outIndex: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${reduceWgsl}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.n; i += ${WG}u) { s += part[i]; }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { out[p.outIndex] = total; }
}`;

/** Σ (x or x²) over all tensors into out[outIndex]: stage 1 per bindable slice of each tensor, one stage 2. */
function reduce(gpu: Gpu, name: string, tensors: { buffer: GPUBuffer; n: number }[], square: boolean, out: GPUBuffer, outIndex: number): void {
  const sh = memoryBoundShape(gpu);
  const chunk = sh.lanes * perLane(sh);
  // Slices in elements of the tensor's width: vec4 when its length allows.
  const slices = tensors.flatMap((t) => {
    const w: 1 | 4 = t.n % 4 === 0 ? 4 : 1;
    return bindableRanges(gpu.limits, t.n / w, [4 * w]).map((r) => ({ buffer: t.buffer, w, ...r }));
  });
  const totalParts = slices.reduce((s, r) => s + Math.ceil(r.count / chunk), 0);
  const part = gpu.alloc(Math.max(1, totalParts) * 4, `${name}-partials`);
  const partBinding = { buffer: part, size: Math.max(1, totalParts) * 4 };
  let offset = 0;
  for (const r of slices) {
    const groups = Math.ceil(r.count / chunk);
    const { workgroups, nx } = grid1d(groups, gpu.limits.maxComputeWorkgroupsPerDimension);
    gpu.dispatch({
      kernel: `${name}Partials(n=${r.count * r.w})`,
      pipeline: gpu.pipeline(`${name}Partials_w${r.w}_${shapeKey(sh)}`, partialsWgsl(sh, r.w, square)),
      bindings: [{ buffer: r.buffer, offset: r.start * 4 * r.w, size: r.count * 4 * r.w }, partBinding],
      params: new Params().u32(r.count).u32(offset).u32(nx).bytes(),
      workgroups,
    });
    offset += groups;
  }
  if (totalParts === 0) gpu.write(part, new Float32Array(1)); // no elements: the sum is 0
  gpu.dispatch({
    kernel: `${name}Finish(parts=${totalParts})`,
    pipeline: gpu.pipeline('reduceFinish', finishWgsl),
    bindings: [partBinding, { buffer: out, size: (outIndex + 1) * 4 }],
    params: new Params().u32(Math.max(1, totalParts)).u32(outIndex).bytes(),
    workgroups: [1],
  });
  gpu.release(part);
}

/** out[outIndex] = Σ x[0..n), on the GPU (no readback). */
export function sum(gpu: Gpu, a: { x: GPUBuffer; n: number; out: GPUBuffer; outIndex?: number }): void {
  reduce(gpu, 'sum', [{ buffer: a.x, n: a.n }], false, a.out, a.outIndex ?? 0);
}

/** out[0] = Σ over all tensors of Σ x²: the squared global L2 norm for gradient clipping. */
export function sumOfSquares(gpu: Gpu, a: { tensors: { buffer: GPUBuffer; n: number }[]; out: GPUBuffer }): void {
  reduce(gpu, 'sumOfSquares', a.tensors, true, a.out, 0);
}

const clipWgsl = /* wgsl */ `
struct P { maxNorm: f32 }
@group(0) @binding(0) var<storage, read> sumSq: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(1)
fn main() { out[0] = min(1.0, p.maxNorm / (sqrt(sumSq[0]) + 1e-6)); }`;

/** out[0] = min(1, maxNorm / (‖g‖ + 1e-6)) from sumSq[0] = ‖g‖², as torch.nn.utils.clip_grad_norm_ scales. */
export function clipCoefficient(gpu: Gpu, a: { sumSq: GPUBuffer; out: GPUBuffer; maxNorm: number }): void {
  gpu.dispatch({
    kernel: 'clipCoefficient',
    pipeline: gpu.pipeline('clipCoefficient', clipWgsl),
    bindings: [{ buffer: a.sumSq, size: 4 }, { buffer: a.out, size: 4 }],
    params: new Params().f32(a.maxNorm).bytes(),
    workgroups: [1],
  });
}
