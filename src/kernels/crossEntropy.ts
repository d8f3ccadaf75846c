import type { Gpu } from './runtime/device.js';
import { grid1d, Params } from './runtime/params.js';
import { laneReduceWgsl, memoryBoundShape, shapeKey, subgroupsDirective, type MemoryBoundShape } from './runtime/streaming.js';

// One workgroup per row of logits; its lanes stride over the vocabulary in vec4 when V allows
// (50272 does), in the adapter's layout (streaming.ts: on lavapipe one subgroup, so a row is one
// contiguous walk and the lanes combine with subgroup operations; on GPUs 256 lanes and a tree in
// workgroup memory). lavapipe pays per storage access, so the kernel's time is its sweeps over the
// row: the loss takes one (an online log-sum-exp: each lane keeps a running max and a sum rescaled
// as the max grows, as flash attention does), dLogits one more (the in-place write).
type W = 1 | 4;

const wgsl = (sh: MemoryBoundShape, w: W) => /* wgsl */ `
${subgroupsDirective(sh)}
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { rows: u32, Vw: u32, nx: u32, V: u32, targetOffset: u32, grad: u32, dScale: f32 }
@group(0) @binding(0) var<storage, read_write> logits: array<V>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${laneReduceWgsl(sh)}
fn hmax(v: V) -> f32 { return ${w === 4 ? 'max(max(v.x, v.y), max(v.z, v.w))' : 'v'}; }
fn hsum(v: V) -> f32 { return ${w === 4 ? 'v.x + v.y + v.z + v.w' : 'v'}; }
const L = ${sh.lanes}u;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.nx;
  if (row >= p.rows) { return; }
  let base = row * p.Vw;
  let t = targets[p.targetOffset + row];
  // -100 (ignore_index) and anything else outside [0, V) contribute no loss and no gradient.
  let ignored = t < 0 || u32(t) >= p.V;
  // The running max starts at f32's lowest finite value (not -inf) so that exp(m - mNew) is never
  // exp(-inf - -inf) = NaN; a lane that saw no column keeps the pair (LOWEST, 0), which merges as 0.
  var m = -0x1.fffffep+127f;
  var s = 0.0;
  // Four elements per step share one rescale, so the online max costs one exp per 16 logits, not 4.
  var c = lid;
  for (; c + 3u * L < p.Vw; c += 4u * L) {
    let x0 = logits[base + c];
    let x1 = logits[base + c + L];
    let x2 = logits[base + c + 2u * L];
    let x3 = logits[base + c + 3u * L];
    let mNew = max(max(m, max(hmax(x0), hmax(x1))), max(hmax(x2), hmax(x3)));
    s = s * exp(m - mNew) + hsum(exp(x0 - mNew) + exp(x1 - mNew) + exp(x2 - mNew) + exp(x3 - mNew));
    m = mNew;
  }
  for (; c < p.Vw; c += L) {
    let x = logits[base + c];
    let mNew = max(m, hmax(x));
    s = s * exp(m - mNew) + hsum(exp(x - mNew));
    m = mNew;
  }
  // Lanes merge their (max, sum) pairs: the row's max, then each lane's sum rescaled to it.
  let rowMax = laneMax(m, lid);
  s = laneSum(vec4f(s * exp(m - rowMax), 0.0, 0.0, 0.0), lid).x;
  m = rowMax;
  let lse = m + log(s);
  var xt = lse;
  if (!ignored) { xt = logits[base + u32(t) / ${w}u]${w === 4 ? '[u32(t) % 4u]' : ''}; }
  if (lid == 0u) { loss[row] = lse - xt; }
  if (p.grad == 0u) { return; }
  // Every lane has read the target logit before any lane overwrites the row. The sweep writes
  // softmax·dScale everywhere; the lane that owns the target's column then subtracts the one-hot
  // there (the same lane, so in order), which keeps the compare out of the per-element loop.
  workgroupBarrier();
  let scale = select(p.dScale, 0.0, ignored);
  for (var c = lid; c < p.Vw; c += L) {
    logits[base + c] = exp(logits[base + c] - lse) * scale;
  }
  if (!ignored && (u32(t) / ${w}u) % L == lid) {
    logits[base + u32(t) / ${w}u]${w === 4 ? '[u32(t) % 4u]' : ''} = (exp(xt - lse) - 1.0) * scale;
  }
}`;

/**
 * Softmax cross-entropy per row: loss[r] = logsumexp(logits[r]) - logits[r][target], 0 where the
 * target (read from targets[targetOffset + r], i32) is -100. With `dScale`, the logits are then
 * overwritten in place by dLogits = (softmax - onehot)·dScale (0 on ignored rows). The caller
 * chunks rows so that rows·V·4 bytes fit one storage binding.
 */
export function crossEntropy(
  gpu: Gpu,
  a: { logits: GPUBuffer; targets: GPUBuffer; loss: GPUBuffer; rows: number; V: number; targetOffset?: number; dScale?: number },
): void {
  const { rows, V } = a;
  const targetOffset = a.targetOffset ?? 0;
  const w: W = V % 4 === 0 ? 4 : 1;
  const { workgroups, nx } = grid1d(rows, gpu.limits.maxComputeWorkgroupsPerDimension);
  const grad = a.dScale !== undefined;
  const sh = memoryBoundShape(gpu);
  gpu.dispatch({
    kernel: `crossEntropy(rows=${rows},V=${V}${grad ? ',grad' : ''})`,
    pipeline: gpu.pipeline(`crossEntropy_w${w}_${shapeKey(sh)}`, wgsl(sh, w)),
    bindings: [{ buffer: a.logits, size: rows * V * 4 }, { buffer: a.targets, size: (targetOffset + rows) * 4 }, { buffer: a.loss, size: rows * 4 }],
    params: new Params().u32(rows).u32(V / w).u32(nx).u32(V).u32(targetOffset).u32(grad ? 1 : 0).f32(a.dScale ?? 0).bytes(),
    workgroups,
  });
}
