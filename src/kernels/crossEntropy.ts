import type { Gpu } from './device.js';
import { grid1d, Params } from './params.js';

// One workgroup per row of logits; lanes stride over the vocabulary in vec4 when V allows (50272
// does), and combine through workgroup memory. On lavapipe every storage load at lane-varying
// addresses costs a scalar load per lane and component, so the kernel's time is its number of
// sweeps over the row and its exps: the loss takes one sweep (an online log-sum-exp: each lane
// keeps a running max and a sum rescaled as the max grows, as flash attention does), dLogits one
// more (the in-place write).
const WG = 64;

type W = 1 | 4;

const wgsl = (w: W) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { rows: u32, Vw: u32, nx: u32, V: u32, targetOffset: u32, grad: u32, dScale: f32 }
@group(0) @binding(0) var<storage, read_write> logits: array<V>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<vec2f, ${WG}>;
fn hmax(v: V) -> f32 { return ${w === 4 ? 'max(max(v.x, v.y), max(v.z, v.w))' : 'v'}; }
fn hsum(v: V) -> f32 { return ${w === 4 ? 'v.x + v.y + v.z + v.w' : 'v'}; }
// Merges (max, Σexp(x - max)) pairs over the workgroup's lanes (tree in workgroup memory); every
// lane gets the row's pair.
fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}
fn workgroupLse(v: vec2f, lid: u32) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = merge(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${WG})
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
  // Four vec4s per step share one rescale, so the online max costs one exp per 16 logits, not 4.
  var c = lid;
  for (; c + ${3 * WG}u < p.Vw; c += ${4 * WG}u) {
    let x0 = logits[base + c];
    let x1 = logits[base + c + ${WG}u];
    let x2 = logits[base + c + ${2 * WG}u];
    let x3 = logits[base + c + ${3 * WG}u];
    let mNew = max(max(m, max(hmax(x0), hmax(x1))), max(hmax(x2), hmax(x3)));
    s = s * exp(m - mNew) + hsum(exp(x0 - mNew) + exp(x1 - mNew) + exp(x2 - mNew) + exp(x3 - mNew));
    m = mNew;
  }
  for (; c < p.Vw; c += ${WG}u) {
    let x = logits[base + c];
    let mNew = max(m, hmax(x));
    s = s * exp(m - mNew) + hsum(exp(x - mNew));
    m = mNew;
  }
  let ms = workgroupLse(vec2f(m, s), lid);
  m = ms.x;
  s = ms.y;
  let lse = m + log(s);
  if (lid == 0u) {
    var xt = lse;
    if (!ignored) { xt = logits[base + u32(t) / ${w}u]${w === 4 ? '[u32(t) % 4u]' : ''}; }
    loss[row] = lse - xt;
  }
  if (p.grad == 0u) { return; }
  // Every lane has read the target logit (lane 0, above) before any lane overwrites the row.
  workgroupBarrier();
  let scale = select(p.dScale, 0.0, ignored);
  let inv = 1.0 / s;
  for (var c = lid; c < p.Vw; c += ${WG}u) {
    var g = exp(logits[base + c] - m) * inv;
    ${w === 4 ? 'let k = vec4u(c * 4u) + vec4u(0u, 1u, 2u, 3u);\n    g -= select(V(0.0), V(1.0), k == vec4u(u32(t)));' : 'g -= select(0.0, 1.0, c == u32(t));'}
    logits[base + c] = g * scale;
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
  gpu.dispatch({
    kernel: `crossEntropy(rows=${rows},V=${V}${grad ? ',grad' : ''})`,
    pipeline: gpu.pipeline(`crossEntropy_w${w}`, wgsl(w)),
    bindings: [{ buffer: a.logits, size: rows * V * 4 }, { buffer: a.targets, size: (targetOffset + rows) * 4 }, { buffer: a.loss, size: rows * 4 }],
    params: new Params().u32(rows).u32(V / w).u32(nx).u32(V).u32(targetOffset).u32(grad ? 1 : 0).f32(a.dScale ?? 0).bytes(),
    workgroups,
    cost: { bytes: (grad ? 2 : 1) * rows * V * 4, flops: (grad ? 6 : 4) * rows * V },
  });
}
