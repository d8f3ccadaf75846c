import type { Gpu } from '../runtime/device.js';
import { grid1d, Params } from '../runtime/params.js';
import { laneReduceWgsl, memoryBoundShape, shapeKey, subgroupsDirective, type MemoryBoundShape } from '../runtime/streaming.js';

// A workgroup normalises ROWS rows at once, their per-row values packed four to a vec4 (group g
// holds rows 4g..4g+3); its lanes stride over the columns (vec4 when cols allows) in the adapter's
// layout (streaming.ts: on lavapipe one subgroup, lanes combining with subgroupAdd; on GPUs a wide
// workgroup and a tree in workgroup memory). lavapipe pays per storage access, not per byte, so
// what sets the time is accesses per element: x is read twice (statistics, then output) and y
// written once, while gamma and beta are read once per column for all ROWS rows. The last
// workgroup's rows past the end re-read the last row and store nothing. Four rows, not eight:
// eight halve the gamma and partial-sum traffic, but the backward ran slower on lavapipe, eight
// rows' values no longer fitting in registers (docs/lavapipe-speed.md, "Memory-bound kernels").
const ROWS = 4;
const K = Array.from({ length: ROWS }, (_, k) => k);
const G = Array.from({ length: ROWS / 4 }, (_, g) => g);
const C4 = ['x', 'y', 'z', 'w'];
/** Row k's component of the group vector `name`: mu0.x for row 0, mu1.y for row 5. */
const at = (name: string, k: number) => `${name}${k >> 2}.${C4[k & 3]}`;
/** A vec4 per group built from one expression per row. */
const perGroup = (name: string, expr: (k: number) => string) =>
  G.map((g) => `let ${name}${g} = vec4f(${[0, 1, 2, 3].map((c) => expr(4 * g + c)).join(', ')});`).join('\n  ');
/** Runs `body` for row k; rows after the first only when they exist. */
const ifRow = (k: number, body: string) => (k === 0 ? `{ ${body} }` : `if (${at('valid', k)}) { ${body} }`);

type W = 1 | 4;
const widthFor = (cols: number): W => (cols % 4 === 0 ? 4 : 1);

/** The shared head: types, lane reductions, the lane count L. */
const prelude = (sh: MemoryBoundShape, w: W) => /* wgsl */ `
${subgroupsDirective(sh)}
alias V = ${w === 4 ? 'vec4f' : 'f32'};
fn hsum(v: V) -> f32 { return ${w === 4 ? 'v.x + v.y + v.z + v.w' : 'v'}; }
${laneReduceWgsl(sh)}
const L = ${sh.lanes}u;`;

// The workgroup's rows r0.. (clamped to the last row), their element offsets b0.., and which are real.
const rowBases = /* wgsl */ `
  let row0 = (wid.x + wid.y * p.nx) * ${ROWS}u;
  if (row0 >= p.rows) { return; }
  ${K.map((k) => `let r${k} = min(row0 + ${k}u, p.rows - 1u);`).join(' ')}
  ${K.map((k) => `let b${k} = r${k} * p.C;`).join(' ')}
  ${G.map((g) => `let valid${g} = vec4<bool>(${[0, 1, 2, 3].map((c) => `row0 + ${4 * g + c}u < p.rows`).join(', ')});`).join('\n  ')}`;

// Statistics in one sweep: each lane folds its elements in as batches of w (Welford's update with
// the batch's own mean and squared deviations), then the lanes merge with the k-way form of Chan
// et al.'s formula: mean = Σ nₗ·meanₗ / N, M2 = Σ (M2ₗ + nₗ·(meanₗ − mean)²). Not E[x²] − E[x]²:
// rows with a large common offset would lose the variance to cancellation. rstd = 1/sqrt(var +
// eps) with the biased variance, as torch.nn.LayerNorm.
const forwardWgsl = (sh: MemoryBoundShape, w: W, hasGamma: boolean, hasBeta: boolean) => /* wgsl */ `
${prelude(sh, w)}
struct P { rows: u32, C: u32, nx: u32, cols: f32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> y: array<V>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
${hasGamma ? '@group(0) @binding(4) var<storage, read> gamma: array<V>;' : ''}
${hasBeta ? `@group(0) @binding(${hasGamma ? 5 : 4}) var<storage, read> beta: array<V>;` : ''}
@group(0) @binding(${4 + Number(hasGamma) + Number(hasBeta)}) var<uniform> p: P;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${rowBases}
  var n = 0.0;
  ${G.map((g) => `var mu${g} = vec4f(0.0);\n  var m2${g} = vec4f(0.0);`).join('\n  ')}
  for (var c = lid; c < p.C; c += L) {
    ${K.map((k) => `let v${k} = x[b${k} + c];`).join(' ')}
    ${perGroup('bs', (k) => `hsum(v${k})`)}
    ${G.map((g) => `let bm${g} = bs${g} / ${w}.0;`).join(' ')}
    ${K.map((k) => `let d${k} = v${k} - ${at('bm', k)};`).join(' ')}
    ${perGroup('bq', (k) => `hsum(d${k} * d${k})`)}
    let nn = n + ${w}.0;
    ${G.map((g) => `let delta${g} = bm${g} - mu${g};\n    mu${g} += delta${g} * (${w}.0 / nn);\n    m2${g} += bq${g} + delta${g} * delta${g} * (n * ${w}.0 / nn);`).join('\n    ')}
    n = nn;
  }
  ${G.map((g) => `let mean${g} = laneSum(mu${g} * n, lid) / p.cols;\n  let dm${g} = mu${g} - mean${g};\n  let rs${g} = inverseSqrt(laneSum(m2${g} + n * dm${g} * dm${g}, lid) / p.cols + p.eps);`).join('\n  ')}
  for (var c = lid; c < p.C; c += L) {
    ${hasGamma ? 'let g = gamma[c];' : ''}
    ${hasBeta ? 'let be = beta[c];' : ''}
    ${K.map((k) => ifRow(k, `y[b${k} + c] = (x[b${k} + c] - ${at('mean', k)}) * ${at('rs', k)}${hasGamma ? ' * g' : ''}${hasBeta ? ' + be' : ''};`)).join('\n    ')}
  }
  if (lid == 0u) {
    ${K.map((k) => ifRow(k, `mean[row0 + ${k}u] = ${at('mean', k)}; rstd[row0 + ${k}u] = ${at('rs', k)};`)).join('\n    ')}
  }
}`;

/** y = (x - mean)·rstd·gamma + beta per row of x[rows, cols]; saves mean and rstd [rows] for backward. */
export function layerNormForward(
  gpu: Gpu,
  a: { x: GPUBuffer; gamma?: GPUBuffer; beta?: GPUBuffer; y: GPUBuffer; mean: GPUBuffer; rstd: GPUBuffer; rows: number; cols: number; eps: number },
): void {
  const { rows, cols } = a;
  const w = widthFor(cols);
  const sh = memoryBoundShape(gpu);
  const { workgroups, nx } = grid1d(Math.ceil(rows / ROWS), gpu.limits.maxComputeWorkgroupsPerDimension);
  const bytes = rows * cols * 4;
  const bindings = [{ buffer: a.x, size: bytes }, { buffer: a.y, size: bytes }, { buffer: a.mean, size: rows * 4 }, { buffer: a.rstd, size: rows * 4 }];
  if (a.gamma) bindings.push({ buffer: a.gamma, size: cols * 4 });
  if (a.beta) bindings.push({ buffer: a.beta, size: cols * 4 });
  gpu.dispatch({
    kernel: `layerNormForward(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline(`layerNormForward_w${w}${a.gamma ? 'g' : ''}${a.beta ? 'b' : ''}_${shapeKey(sh)}`, forwardWgsl(sh, w, !!a.gamma, !!a.beta)),
    bindings,
    params: new Params().u32(rows).u32(cols / w).u32(nx).f32(cols).f32(a.eps).bytes(),
    workgroups,
  });
}

// dX = rstd·(g - mean(g) - x̂·mean(g·x̂)) with g = gamma·dY and x̂ = (x - mean)·rstd: the standard
// layer-norm backward (as in llm.c). One sweep for the two row means, one for dX; the second also
// sums dGamma = Σ dY·x̂ and dBeta = Σ dY over the workgroup's rows for the lane's columns and
// writes them as the block's partials, part[0 | 1][block, C], so the column sums need no pass of
// their own over dY and x. A small second kernel adds the blocks in order: deterministic, no atomics.
const backwardWgsl = (sh: MemoryBoundShape, w: W, hasGamma: boolean, acc: boolean, params: boolean) => /* wgsl */ `
${prelude(sh, w)}
struct P { rows: u32, C: u32, nx: u32, cols: f32, blocks: u32 }
@group(0) @binding(0) var<storage, read> dY: array<V>;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dX: array<V>;
${hasGamma ? '@group(0) @binding(5) var<storage, read> gamma: array<V>;' : ''}
${params ? `@group(0) @binding(${hasGamma ? 6 : 5}) var<storage, read_write> part: array<V>;` : ''}
@group(0) @binding(${5 + Number(hasGamma) + Number(params)}) var<uniform> p: P;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${rowBases}
  ${perGroup('mu', (k) => `mean[r${k}]`)}
  ${perGroup('rs', (k) => `rstd[r${k}]`)}
  ${G.map((g) => `var sg${g} = vec4f(0.0);\n  var sgx${g} = vec4f(0.0);`).join('\n  ')}
  for (var c = lid; c < p.C; c += L) {
    ${hasGamma ? 'let gm = gamma[c];' : ''}
    ${K.map((k) => `let g${k} = dY[b${k} + c]${hasGamma ? ' * gm' : ''}; let h${k} = (x[b${k} + c] - ${at('mu', k)}) * ${at('rs', k)};`).join('\n    ')}
    ${G.map((g) => `sg${g} += vec4f(${[0, 1, 2, 3].map((c) => `hsum(g${4 * g + c})`).join(', ')});\n    sgx${g} += vec4f(${[0, 1, 2, 3].map((c) => `hsum(g${4 * g + c} * h${4 * g + c})`).join(', ')});`).join('\n    ')}
  }
  ${G.map((g) => `let m1${g} = laneSum(sg${g}, lid) / p.cols;\n  let m2${g} = laneSum(sgx${g}, lid) / p.cols;`).join('\n  ')}
  for (var c = lid; c < p.C; c += L) {
    ${hasGamma ? 'let gm = gamma[c];' : ''}
    ${params ? 'var dg = V(0.0);\n    var db = V(0.0);' : ''}
    ${K.map((k) =>
      ifRow(
        k,
        `let dy = dY[b${k} + c];
      let h = (x[b${k} + c] - ${at('mu', k)}) * ${at('rs', k)};
      let d = ${at('rs', k)} * (dy${hasGamma ? ' * gm' : ''} - ${at('m1', k)} - h * ${at('m2', k)});
      dX[b${k} + c] = ${acc ? `dX[b${k} + c] + d` : 'd'};${params ? '\n      dg += dy * h;\n      db += dy;' : ''}
    `,
      ),
    ).join('\n    ')}
    ${params ? `let block = row0 / ${ROWS}u;\n    part[block * p.C + c] = dg;\n    part[(p.blocks + block) * p.C + c] = db;` : ''}
  }
}`;

// Adds the row blocks' partials in order into dGamma/dBeta (parameter gradients add). Lanes
// stream over the columns, each walking the blocks.
const paramFinishWgsl = (sh: MemoryBoundShape, w: W, hasDGamma: boolean, hasDBeta: boolean) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { C: u32, blocks: u32 }
@group(0) @binding(0) var<storage, read> part: array<V>;
${hasDGamma ? '@group(0) @binding(1) var<storage, read_write> dGamma: array<V>;' : ''}
${hasDBeta ? `@group(0) @binding(${hasDGamma ? 2 : 1}) var<storage, read_write> dBeta: array<V>;` : ''}
@group(0) @binding(${1 + Number(hasDGamma) + Number(hasDBeta)}) var<uniform> p: P;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var dg = V(0.0);
  var db = V(0.0);
  for (var b = 0u; b < p.blocks; b++) {
    ${hasDGamma ? 'dg += part[b * p.C + c];' : ''}
    ${hasDBeta ? 'db += part[(p.blocks + b) * p.C + c];' : ''}
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
  const sh = memoryBoundShape(gpu);
  const bytes = rows * cols * 4;
  const blocks = Math.ceil(rows / ROWS);
  const { workgroups, nx } = grid1d(blocks, gpu.limits.maxComputeWorkgroupsPerDimension);
  const params = !!(a.dGamma || a.dBeta);
  const partBytes = 2 * blocks * cols * 4;
  const part = params ? gpu.alloc(partBytes, 'layernorm-partials') : null;
  const bindings = [{ buffer: a.dY, size: bytes }, { buffer: a.x, size: bytes }, { buffer: a.mean, size: rows * 4 }, { buffer: a.rstd, size: rows * 4 }, { buffer: a.dX, size: bytes }];
  if (a.gamma) bindings.push({ buffer: a.gamma, size: cols * 4 });
  if (part) bindings.push({ buffer: part, size: partBytes });
  gpu.dispatch({
    kernel: `layerNormBackward(rows=${rows},cols=${cols}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(
      `layerNormBackward_w${w}${a.gamma ? 'g' : ''}${acc ? 'a' : ''}${params ? 'p' : ''}_${shapeKey(sh)}`,
      backwardWgsl(sh, w, !!a.gamma, acc, params),
    ),
    bindings,
    params: new Params().u32(rows).u32(C).u32(nx).f32(cols).u32(blocks).bytes(),
    workgroups,
  });
  if (!part) return;
  const outs = [a.dGamma, a.dBeta].filter((b): b is GPUBuffer => !!b).map((buffer) => ({ buffer, size: cols * 4 }));
  gpu.dispatch({
    kernel: `layerNormParamGrads(rows=${rows},cols=${cols})`,
    pipeline: gpu.pipeline(`layerNormParamGrads_w${w}${a.dGamma ? 'g' : ''}${a.dBeta ? 'b' : ''}_${shapeKey(sh)}`, paramFinishWgsl(sh, w, !!a.dGamma, !!a.dBeta)),
    bindings: [{ buffer: part, size: partBytes }, ...outs],
    params: new Params().u32(C).u32(blocks).bytes(),
    workgroups: [Math.ceil(C / sh.lanes)],
  });
  gpu.release(part);
}
