import type { Gpu } from '../runtime/device.js';
import { grid1d, Params } from '../runtime/params.js';

// RMS norm (Llama, Qwen): y = x·rstd·gamma with rstd = 1/sqrt(mean(x²) + eps) per row. The same
// kernel serves the decoder's norms (rows = tokens, cols = hidden) and Qwen3's QK-norm (rows =
// tokens·heads, cols = head_dim). One invocation owns one row and walks its columns in order, so
// no subgroup or workgroup reduction is involved: the result does not depend on the subgroup
// width an adapter picks, and the sums are deterministic.
const LANES = 64;

const forwardWgsl = /* wgsl */ `
struct P { rows: u32, cols: u32, nx: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = x[base + c]; ss += v * v; }
  let r = inverseSqrt(ss / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) { y[base + c] = x[base + c] * r * gamma[c]; }
  rstd[row] = r;
}`;

/** y = x·rstd·gamma per row of x[rows, cols]; saves rstd [rows] for the backward. */
export function rmsNormForward(gpu: Gpu, a: { x: GPUBuffer; gamma: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer; rows: number; cols: number; eps: number }): void {
  const { rows, cols } = a;
  const { workgroups, nx } = grid1d(Math.ceil(rows / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
  const bytes = rows * cols * 4;
  gpu.dispatch({
    kernel: `rmsNormForward(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline('rmsNormForward', forwardWgsl),
    bindings: [{ buffer: a.x, size: bytes }, { buffer: a.gamma, size: cols * 4 }, { buffer: a.y, size: bytes }, { buffer: a.rstd, size: rows * 4 }],
    params: new Params().u32(rows).u32(cols).u32(nx).f32(a.eps).bytes(),
    workgroups,
  });
}

// With x̂ = x·rstd and g = dY·gamma: dX = rstd·(g − x̂·mean(g·x̂)). One invocation per row.
const backwardWgsl = (acc: boolean) => /* wgsl */ `
struct P { rows: u32, cols: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> dY: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dX: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let r = rstd[row];
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += dY[base + c] * gamma[c] * x[base + c] * r; }
  let m = s / f32(p.cols);
  for (var c = 0u; c < p.cols; c++) {
    let d = r * (dY[base + c] * gamma[c] - x[base + c] * r * m);
    dX[base + c] = ${acc ? 'dX[base + c] + d' : 'd'};
  }
}`;

// dGamma[c] += Σ_rows dY·x̂: one invocation per column, walking the rows in order.
const gammaGradWgsl = /* wgsl */ `
struct P { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> dY: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dGamma: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += dY[r * p.cols + c] * x[r * p.cols + c] * rstd[r]; }
  dGamma[c] += s;
}`;

/** RMS norm backward from the forward's rstd: dX (overwritten, or added when `accumulate`) and dGamma (always added). */
export function rmsNormBackward(
  gpu: Gpu,
  a: { dY: GPUBuffer; x: GPUBuffer; gamma: GPUBuffer; rstd: GPUBuffer; dX: GPUBuffer; dGamma?: GPUBuffer; rows: number; cols: number; accumulate?: boolean },
): void {
  const { rows, cols } = a;
  const acc = a.accumulate ?? false;
  const bytes = rows * cols * 4;
  const { workgroups, nx } = grid1d(Math.ceil(rows / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `rmsNormBackward(rows=${rows},cols=${cols}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`rmsNormBackward${acc ? '_acc' : ''}`, backwardWgsl(acc)),
    bindings: [
      { buffer: a.dY, size: bytes },
      { buffer: a.x, size: bytes },
      { buffer: a.gamma, size: cols * 4 },
      { buffer: a.rstd, size: rows * 4 },
      { buffer: a.dX, size: bytes },
    ],
    params: new Params().u32(rows).u32(cols).u32(nx).bytes(),
    workgroups,
  });
  if (!a.dGamma) return;
  gpu.dispatch({
    kernel: `rmsNormGammaGrad(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline('rmsNormGammaGrad', gammaGradWgsl),
    bindings: [{ buffer: a.dY, size: bytes }, { buffer: a.x, size: bytes }, { buffer: a.rstd, size: rows * 4 }, { buffer: a.dGamma, size: cols * 4 }],
    params: new Params().u32(rows).u32(cols).bytes(),
    workgroups: [Math.ceil(cols / LANES)],
  });
}
