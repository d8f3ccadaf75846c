import type { Gpu } from './device.js';
import { grid1d, Params } from './params.js';

// One workgroup normalises one row: lanes stride over the columns (vec4 when cols allows: lavapipe
// pays per storage access) and combine partial sums through workgroup memory. 64 lanes keep a
// 1024-wide row at four vec4 per lane.
const WG = 64;
// Rows per workgroup in the dGamma/dBeta column reduction: partial sums over 64-row blocks, then
// one pass adds the blocks in order. Deterministic without atomics, and parallel over rows.
const ROW_BLOCK = 64;

type W = 1 | 4;
const widthFor = (cols: number): W => (cols % 4 === 0 ? 4 : 1);

function prelude(w: W): string {
  return /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
fn hsum(v: V) -> f32 { return ${w === 4 ? 'v.x + v.y + v.z + v.w' : 'v'}; }
var<workgroup> red: array<vec2f, ${WG}>;
// Sums two values over the workgroup's lanes (tree in workgroup memory); every lane gets the totals.
fn workgroupSum2(v: vec2f, lid: u32) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

// One sweep for the statistics, one for the output: on lavapipe each storage load at lane-varying
// addresses costs a scalar load per lane and component, so sweeps over the row, not arithmetic,
// set the time. The statistics are Welford's (each lane folds its vec4s in as batches, then the
// lanes merge with Chan et al.'s pairwise formula), not E[x²] - E[x]²: rows with a large common
// offset would lose the variance to cancellation. rstd = 1/sqrt(var + eps) with the biased
// variance, as torch.nn.LayerNorm.
const forwardWgsl = (w: W, hasGamma: boolean, hasBeta: boolean) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
fn hsum(v: V) -> f32 { return ${w === 4 ? 'v.x + v.y + v.z + v.w' : 'v'}; }
struct P { rows: u32, C: u32, nx: u32, cols: f32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> y: array<V>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
${hasGamma ? '@group(0) @binding(4) var<storage, read> gamma: array<V>;' : ''}
${hasBeta ? `@group(0) @binding(${hasGamma ? 5 : 4}) var<storage, read> beta: array<V>;` : ''}
@group(0) @binding(${4 + Number(hasGamma) + Number(hasBeta)}) var<uniform> p: P;
// (count, mean, sum of squared deviations) of two disjoint sets, merged.
fn merge(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return a; }
  let d = b.y - a.y;
  return vec3f(n, a.y + d * (b.x / n), a.z + b.z + d * d * (a.x * b.x / n));
}
var<workgroup> red: array<vec3f, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.nx;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var st = vec3f(0.0);
  for (var c = lid; c < p.C; c += ${WG}u) {
    let v = x[base + c];
    let bm = hsum(v) / ${w}.0;
    let d = v - bm;
    st = merge(st, vec3f(${w}.0, bm, hsum(d * d)));
  }
  red[lid] = st;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = merge(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let mu = red[0].y;
  let r = inverseSqrt(red[0].z / p.cols + p.eps);
  for (var c = lid; c < p.C; c += ${WG}u) {
    y[base + c] = (x[base + c] - mu) * r${hasGamma ? ' * gamma[c]' : ''}${hasBeta ? ' + beta[c]' : ''};
  }
  if (lid == 0u) { mean[row] = mu; rstd[row] = r; }
}`;

/** y = (x - mean)·rstd·gamma + beta per row of x[rows, cols]; saves mean and rstd [rows] for backward. */
export function layerNormForward(
  gpu: Gpu,
  a: { x: GPUBuffer; gamma?: GPUBuffer; beta?: GPUBuffer; y: GPUBuffer; mean: GPUBuffer; rstd: GPUBuffer; rows: number; cols: number; eps: number },
): void {
  const { rows, cols } = a;
  const w = widthFor(cols);
  const { workgroups, nx } = grid1d(rows, gpu.limits.maxComputeWorkgroupsPerDimension);
  const bytes = rows * cols * 4;
  const bindings = [{ buffer: a.x, size: bytes }, { buffer: a.y, size: bytes }, { buffer: a.mean, size: rows * 4 }, { buffer: a.rstd, size: rows * 4 }];
  if (a.gamma) bindings.push({ buffer: a.gamma, size: cols * 4 });
  if (a.beta) bindings.push({ buffer: a.beta, size: cols * 4 });
  gpu.dispatch({
    kernel: `layerNormForward(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline(`layerNormForward_w${w}`, forwardWgsl(w, !!a.gamma, !!a.beta)),
    bindings,
    params: new Params().u32(rows).u32(cols / w).u32(nx).f32(cols).f32(a.eps).bytes(),
    workgroups,
    cost: { bytes: 2 * bytes, flops: 8 * rows * cols },
  });
}

// dX = rstd·(g - mean(g) - x̂·mean(g·x̂)) with g = gamma·dY and x̂ = (x - mean)·rstd: the standard
// layer-norm backward (as in llm.c), one workgroup per row.
const backwardWgsl = (w: W, hasGamma: boolean, acc: boolean) => /* wgsl */ `
${prelude(w)}
struct P { rows: u32, C: u32, nx: u32, cols: f32 }
@group(0) @binding(0) var<storage, read> dY: array<V>;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dX: array<V>;
${hasGamma ? '@group(0) @binding(5) var<storage, read> gamma: array<V>;' : ''}
@group(0) @binding(${hasGamma ? 6 : 5}) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.nx;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  let mu = mean[row];
  let r = rstd[row];
  var sums = vec2f(0.0);
  for (var c = lid; c < p.C; c += ${WG}u) {
    let g = dY[base + c]${hasGamma ? ' * gamma[c]' : ''};
    sums += vec2f(hsum(g), hsum(g * (x[base + c] - mu) * r));
  }
  let m = workgroupSum2(sums, lid) / p.cols;
  for (var c = lid; c < p.C; c += ${WG}u) {
    let g = dY[base + c]${hasGamma ? ' * gamma[c]' : ''};
    let d = r * (g - m.x - (x[base + c] - mu) * r * m.y);
    dX[base + c] = ${acc ? 'dX[base + c] + d' : 'd'};
  }
}`;

// dGamma = Σ_rows dY·x̂ and dBeta = Σ_rows dY, stage 1: workgroup (column block, row block)
// writes its block's partial sums to part[0 | 1][rowBlock, C].
const paramPartialsWgsl = (w: W) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { rows: u32, C: u32, blocks: u32 }
@group(0) @binding(0) var<storage, read> dY: array<V>;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<V>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * ${WG}u + lid;
  if (c >= p.C) { return; }
  let r0 = wid.y * ${ROW_BLOCK}u;
  let r1 = min(r0 + ${ROW_BLOCK}u, p.rows);
  var dg = V(0.0);
  var db = V(0.0);
  for (var row = r0; row < r1; row++) {
    let d = dY[row * p.C + c];
    dg += d * (x[row * p.C + c] - mean[row]) * rstd[row];
    db += d;
  }
  part[wid.y * p.C + c] = dg;
  part[(p.blocks + wid.y) * p.C + c] = db;
}`;

// Stage 2: add the row blocks' partials in order, then into dGamma/dBeta (parameter gradients add).
const paramFinishWgsl = (w: W, hasDGamma: boolean, hasDBeta: boolean) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { C: u32, blocks: u32 }
@group(0) @binding(0) var<storage, read> part: array<V>;
${hasDGamma ? '@group(0) @binding(1) var<storage, read_write> dGamma: array<V>;' : ''}
${hasDBeta ? `@group(0) @binding(${hasDGamma ? 2 : 1}) var<storage, read_write> dBeta: array<V>;` : ''}
@group(0) @binding(${1 + Number(hasDGamma) + Number(hasDBeta)}) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var dg = V(0.0);
  var db = V(0.0);
  for (var b = 0u; b < p.blocks; b++) {
    dg += part[b * p.C + c];
    db += part[(p.blocks + b) * p.C + c];
  }
  ${hasDGamma ? 'dGamma[c] += dg;' : ''}
  ${hasDBeta ? 'dBeta[c] += db;' : ''}
}`;

/**
 * Layer norm backward from the forward's mean and rstd: dX (overwritten, or added when
 * `accumulate`), and dGamma/dBeta, which as parameter gradients always add.
 */
export function layerNormBackward(
  gpu: Gpu,
  a: {
    dY: GPUBuffer; x: GPUBuffer; gamma?: GPUBuffer; mean: GPUBuffer; rstd: GPUBuffer; dX: GPUBuffer;
    dGamma?: GPUBuffer; dBeta?: GPUBuffer; rows: number; cols: number; accumulate?: boolean;
  },
): void {
  const { rows, cols } = a;
  const acc = a.accumulate ?? false;
  const w = widthFor(cols);
  const C = cols / w;
  const bytes = rows * cols * 4;
  const { workgroups, nx } = grid1d(rows, gpu.limits.maxComputeWorkgroupsPerDimension);
  const inputs = [{ buffer: a.dY, size: bytes }, { buffer: a.x, size: bytes }, { buffer: a.mean, size: rows * 4 }, { buffer: a.rstd, size: rows * 4 }];
  gpu.dispatch({
    kernel: `layerNormBackward(rows=${rows},cols=${cols}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`layerNormBackward_w${w}`, backwardWgsl(w, !!a.gamma, acc)),
    bindings: [...inputs, { buffer: a.dX, size: bytes }, ...(a.gamma ? [{ buffer: a.gamma, size: cols * 4 }] : [])],
    params: new Params().u32(rows).u32(C).u32(nx).f32(cols).bytes(),
    workgroups,
    cost: { bytes: (acc ? 4 : 3) * bytes, flops: 10 * rows * cols },
  });
  if (!a.dGamma && !a.dBeta) return;
  const blocks = Math.ceil(rows / ROW_BLOCK);
  if (blocks > gpu.limits.maxComputeWorkgroupsPerDimension) throw new Error(`kiln: layerNormBackward: ${rows} rows is too many`);
  const part = gpu.alloc(2 * blocks * cols * 4, 'layernorm-partials');
  gpu.dispatch({
    kernel: `layerNormParamGrads(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline(`layerNormParamGrads_w${w}`, paramPartialsWgsl(w)),
    bindings: [...inputs, { buffer: part, size: 2 * blocks * cols * 4 }],
    params: new Params().u32(rows).u32(C).u32(blocks).bytes(),
    workgroups: [Math.ceil(C / WG), blocks],
    cost: { bytes: 2 * bytes, flops: 4 * rows * cols },
  });
  const outs = [a.dGamma, a.dBeta].filter((b): b is GPUBuffer => !!b).map((buffer) => ({ buffer, size: cols * 4 }));
  gpu.dispatch({
    kernel: `layerNormParamGradsFinish(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline(`layerNormParamGradsFinish_w${w}`, paramFinishWgsl(w, !!a.dGamma, !!a.dBeta)),
    bindings: [{ buffer: part, size: 2 * blocks * cols * 4 }, ...outs],
    params: new Params().u32(C).u32(blocks).bytes(),
    workgroups: [Math.ceil(C / WG)],
    cost: { bytes: 4 * (2 * blocks + 4) * cols },
  });
  gpu.release(part);
}
