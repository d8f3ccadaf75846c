import type { Gpu } from './device.js';
import { grid1d, Params } from './params.js';
import { bindableRanges } from './slices.js';

const WG = 256;

// One shader for the a*x + b*y family: residual adds, scaling and gradient accumulation are all
// instances of it, and a single element loop is memory-bound whatever its arithmetic.
const axpbyWgsl = /* wgsl */ `
struct P { n: u32, nx: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i < p.n) { out[i] = p.a * x[i] + p.b * y[i]; }
}`;

const scaleWgsl = /* wgsl */ `
struct P { n: u32, nx: u32, a: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i < p.n) { out[i] = p.a * x[i]; }
}`;

/** out = a·x + b·y over n floats. out must be a third buffer: WebGPU forbids binding one buffer as both read-only and writable. */
export function axpby(gpu: Gpu, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer, n: number, a = 1, b = 1): void {
  const { workgroups, nx } = grid1d(Math.ceil(n / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `axpby(n=${n})`,
    pipeline: gpu.pipeline('axpby', axpbyWgsl),
    bindings: [{ buffer: x, size: n * 4 }, { buffer: y, size: n * 4 }, { buffer: out, size: n * 4 }],
    params: new Params().u32(n).u32(nx).f32(a).f32(b).bytes(),
    workgroups,
    cost: { bytes: 12 * n },
  });
}

/** out = x + y (the residual add). */
export function add(gpu: Gpu, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer, n: number): void {
  axpby(gpu, x, y, out, n, 1, 1);
}

/** out = a·x. */
export function scale(gpu: Gpu, x: GPUBuffer, out: GPUBuffer, n: number, a: number): void {
  const { workgroups, nx } = grid1d(Math.ceil(n / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `scale(n=${n})`,
    pipeline: gpu.pipeline('scale', scaleWgsl),
    bindings: [{ buffer: x, size: n * 4 }, { buffer: out, size: n * 4 }],
    params: new Params().u32(n).u32(nx).f32(a).u32(0).bytes(),
    workgroups,
    cost: { bytes: 8 * n },
  });
}

const accumulateWgsl = /* wgsl */ `
struct P { n: u32, nx: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i < p.n) { dst[i] = p.b * dst[i] + p.a * src[i]; }
}`;

/** dst = b·dst + a·src in place: gradient accumulation (b = 1) and in-place updates. */
export function accumulate(gpu: Gpu, src: GPUBuffer, dst: GPUBuffer, n: number, a = 1, b = 1): void {
  const { workgroups, nx } = grid1d(Math.ceil(n / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `accumulate(n=${n})`,
    pipeline: gpu.pipeline('accumulate', accumulateWgsl),
    bindings: [{ buffer: src, size: n * 4 }, { buffer: dst, size: n * 4 }],
    params: new Params().u32(n).u32(nx).f32(a).f32(b).bytes(),
    workgroups,
    cost: { bytes: 12 * n },
  });
}

// The kernels below move four floats per lane as one vec4 when the length allows (lavapipe turns
// every storage access at a per-lane address into a loop over lanes, so fewer, wider accesses
// win), and one float per lane otherwise. `V` is the per-lane type.
const VEC = 4;
const widthFor = (n: number): 1 | 4 => (n % VEC === 0 ? 4 : 1);
const vecType = (w: 1 | 4): string => (w === 4 ? 'vec4f' : 'f32');

function launch1d(gpu: Gpu, lanes: number): { workgroups: [number, number]; nx: number } {
  return grid1d(Math.ceil(lanes / WG), gpu.limits.maxComputeWorkgroupsPerDimension);
}

const fillWgsl = (w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32, value: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<V>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i < p.n) { out[i] = V(p.value); }
}`;

/** buf[0..n) = value (zeroing gradients and accumulators). Buffers over the binding limit are filled in slices. */
export function fill(gpu: Gpu, buf: GPUBuffer, n: number, value: number): void {
  const w = widthFor(n);
  for (const r of bindableRanges(gpu.limits, n / w, [4 * w])) {
    const { workgroups, nx } = launch1d(gpu, r.count);
    gpu.dispatch({
      kernel: `fill(n=${n},w=${w})`,
      pipeline: gpu.pipeline(`fill_w${w}`, fillWgsl(w)),
      bindings: [{ buffer: buf, offset: r.start * 4 * w, size: r.count * 4 * w }],
      params: new Params().u32(r.count).u32(nx).f32(value).u32(0).bytes(),
      workgroups,
      cost: { bytes: 4 * w * r.count },
    });
  }
}

const reluBackwardWgsl = (w: 1 | 4, acc: boolean) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> y: array<V>;
@group(0) @binding(1) var<storage, read> dY: array<V>;
@group(0) @binding(2) var<storage, read_write> dX: array<V>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i >= p.n) { return; }
  // ReLU's output is positive exactly where its input was, so y alone decides the gradient.
  let g = select(V(0.0), dY[i], y[i] > V(0.0));
  dX[i] = ${acc ? 'dX[i] + g' : 'g'};
}`;

/** dX = dY where y > 0, else 0 (y is ReLU's output); adds into dX when `accumulate`. */
export function reluBackward(gpu: Gpu, a: { y: GPUBuffer; dY: GPUBuffer; dX: GPUBuffer; n: number; accumulate?: boolean }): void {
  const { n } = a;
  const acc = a.accumulate ?? false;
  const w = widthFor(n);
  const { workgroups, nx } = launch1d(gpu, n / w);
  gpu.dispatch({
    kernel: `reluBackward(n=${n}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`reluBackward_w${w}${acc ? '_acc' : ''}`, reluBackwardWgsl(w, acc)),
    bindings: [{ buffer: a.y, size: n * 4 }, { buffer: a.dY, size: n * 4 }, { buffer: a.dX, size: n * 4 }],
    params: new Params().u32(n / w).u32(nx).bytes(),
    workgroups,
    cost: { bytes: (acc ? 16 : 12) * n },
  });
}

// Dropout's mask is a pure function of (seed, offset + element index): a counter-based generator,
// so backward recomputes the mask instead of storing it, and a run is reproducible from its seed.
// The hash is Chris Wellons' lowbias32 (good avalanche for two multiplies); two rounds with the
// seed folded in between decorrelate streams of nearby seeds. `offset` lets each dropout site in a
// model use its own stretch of counters under one seed. An element is kept when its 32-bit draw is
// at least round(p·2³²), so P(drop) = p to within 2⁻³².
const dropoutWgsl = (w: 1 | 4, acc: boolean) => /* wgsl */ `
alias V = ${vecType(w)};
alias U = ${w === 4 ? 'vec4u' : 'u32'};
struct P { n: u32, nx: u32, seed: u32, offset: u32, threshold: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> out: array<V>;
@group(0) @binding(2) var<uniform> p: P;
fn lowbias32(v: U) -> U {
  var h = v;
  h ^= h >> U(16u);
  h *= U(0x7feb352du);
  h ^= h >> U(15u);
  h *= U(0x846ca68bu);
  h ^= h >> U(16u);
  return h;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${WG}u + lid;
  if (i >= p.n) { return; }
  let counter = p.offset + ${w === 4 ? 'i * 4u + vec4u(0u, 1u, 2u, 3u)' : 'i'};
  let draw = lowbias32(lowbias32(counter ^ lowbias32(U(p.seed))) + U(p.seed));
  let kept = select(V(0.0), x[i] * p.scale, draw >= U(p.threshold));
  out[i] = ${acc ? 'out[i] + kept' : 'kept'};
}`;

function dropoutLaunch(gpu: Gpu, name: string, src: GPUBuffer, dst: GPUBuffer, n: number, pDrop: number, seed: number, offset: number, acc: boolean): void {
  if (!(pDrop >= 0 && pDrop <= 1)) throw new Error(`kiln: ${name}: p must be in [0, 1], got ${pDrop}`);
  const w = widthFor(n);
  const { workgroups, nx } = launch1d(gpu, n / w);
  // p = 1 drops everything: the largest threshold keeps only the 2⁻³² draw of 0xffffffff, and scale 0 zeroes even that.
  const threshold = Math.min(0xffffffff, Math.round(pDrop * 2 ** 32));
  const scale = pDrop >= 1 ? 0 : 1 / (1 - pDrop);
  gpu.dispatch({
    kernel: `${name}(n=${n},p=${pDrop}${acc ? ',acc' : ''})`,
    pipeline: gpu.pipeline(`dropout_w${w}${acc ? '_acc' : ''}`, dropoutWgsl(w, acc)),
    bindings: [{ buffer: src, size: n * 4 }, { buffer: dst, size: n * 4 }],
    params: new Params().u32(n / w).u32(nx).u32(seed >>> 0).u32(offset >>> 0).u32(threshold).f32(scale).bytes(),
    workgroups,
    cost: { bytes: (acc ? 12 : 8) * n },
  });
}

// Backward is the same map applied to dY: the mask and scale do not depend on x.

/** out = x·mask/(1-p), the mask drawn from (seed, offset + i): inverted dropout as torch does it. */
export function dropout(gpu: Gpu, a: { x: GPUBuffer; out: GPUBuffer; n: number; p: number; seed: number; offset: number }): void {
  dropoutLaunch(gpu, 'dropout', a.x, a.out, a.n, a.p, a.seed, a.offset, false);
}

/** dX = dY·mask/(1-p) with the forward's mask recomputed from the same seed and offset; adds when `accumulate`. */
export function dropoutBackward(gpu: Gpu, a: { dY: GPUBuffer; dX: GPUBuffer; n: number; p: number; seed: number; offset: number; accumulate?: boolean }): void {
  dropoutLaunch(gpu, 'dropoutBackward', a.dY, a.dX, a.n, a.p, a.seed, a.offset, a.accumulate ?? false);
}
