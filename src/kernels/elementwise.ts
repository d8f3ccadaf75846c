import type { Gpu } from './runtime/device.js';
import { Params } from './runtime/params.js';
import { bindableRanges } from './runtime/slices.js';
import { memoryBoundShape, shapeKey, streamGrid, streamLoopWgsl, type MemoryBoundShape } from './runtime/streaming.js';

// Every kernel here streams: one element (vec4 when the length allows, f32 otherwise) per step of
// a lane, in the per-adapter layout of streaming.ts. Vec4 because lavapipe pays per storage access,
// not per byte.
const widthFor = (n: number): 1 | 4 => (n % 4 === 0 ? 4 : 1);
const vecType = (w: 1 | 4): string => (w === 4 ? 'vec4f' : 'f32');

/** Launches `wgsl(shape, w)` (cached as `key`) over n floats (n / w elements); the params start with (n / w, nx). */
function stream(
  gpu: Gpu,
  key: string,
  n: number,
  wgsl: (s: MemoryBoundShape, w: 1 | 4) => string,
  buffers: GPUBuffer[],
  params: (p: Params) => Params,
  label = key,
): void {
  const w = widthFor(n);
  const s = memoryBoundShape(gpu);
  const { workgroups, nx } = streamGrid(gpu, s, n / w);
  gpu.dispatch({
    kernel: `${label}(n=${n})`,
    pipeline: gpu.pipeline(`${key}_w${w}_${shapeKey(s)}`, wgsl(s, w)),
    bindings: buffers.map((buffer) => ({ buffer, size: n * 4 })),
    params: params(new Params().u32(n / w).u32(nx)).bytes(),
    workgroups,
  });
}

const header = (s: MemoryBoundShape) => /* wgsl */ `@compute @workgroup_size(${s.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {`;

// One shader for the a*x + b*y family: residual adds, scaling and gradient accumulation are all
// instances of it, and a single element loop is memory-bound whatever its arithmetic.
const axpbyWgsl = (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read> y: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;
@group(0) @binding(3) var<uniform> p: P;
${header(s)}${streamLoopWgsl(s, 'out[i] = p.a * x[i] + p.b * y[i];')}
}`;

const scaleWgsl = (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32, a: f32 }
@group(0) @binding(0) var<storage, read> x: array<V>;
@group(0) @binding(1) var<storage, read_write> out: array<V>;
@group(0) @binding(2) var<uniform> p: P;
${header(s)}${streamLoopWgsl(s, 'out[i] = p.a * x[i];')}
}`;

/** out = a·x + b·y over n floats. out must be a third buffer: WebGPU forbids binding one buffer as both read-only and writable. */
export function axpby(gpu: Gpu, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer, n: number, a = 1, b = 1): void {
  stream(gpu, 'axpby', n, axpbyWgsl, [x, y, out], (p) => p.f32(a).f32(b));
}

/** out = x + y (the residual add). */
export function add(gpu: Gpu, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer, n: number): void {
  axpby(gpu, x, y, out, n, 1, 1);
}

/** out = a·x. */
export function scale(gpu: Gpu, x: GPUBuffer, out: GPUBuffer, n: number, a: number): void {
  stream(gpu, 'scale', n, scaleWgsl, [x, out], (p) => p.f32(a));
}

const accumulateWgsl = (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read> src: array<V>;
@group(0) @binding(1) var<storage, read_write> dst: array<V>;
@group(0) @binding(2) var<uniform> p: P;
${header(s)}${streamLoopWgsl(s, 'dst[i] = p.b * dst[i] + p.a * src[i];')}
}`;

/** dst = b·dst + a·src in place: gradient accumulation (b = 1) and in-place updates. */
export function accumulate(gpu: Gpu, src: GPUBuffer, dst: GPUBuffer, n: number, a = 1, b = 1): void {
  stream(gpu, 'accumulate', n, accumulateWgsl, [src, dst], (p) => p.f32(a).f32(b));
}

const fillWgsl = (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32, value: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<V>;
@group(0) @binding(1) var<uniform> p: P;
${header(s)}${streamLoopWgsl(s, 'out[i] = V(p.value);')}
}`;

/** buf[0..n) = value (zeroing gradients and accumulators). Buffers over the binding limit are filled in slices. */
export function fill(gpu: Gpu, buf: GPUBuffer, n: number, value: number): void {
  // Zeros go through clearBuffer, which lavapipe runs as a memset, several times faster than this
  // kernel (docs/lavapipe-speed.md); zeroing gradients is most of what fill does.
  if (Object.is(value, 0)) {
    gpu.clear(buf, 0, 4 * n);
    return;
  }
  const w = widthFor(n);
  const s = memoryBoundShape(gpu);
  for (const r of bindableRanges(gpu.limits, n / w, [4 * w])) {
    const { workgroups, nx } = streamGrid(gpu, s, r.count);
    gpu.dispatch({
      kernel: `fill(n=${n},w=${w})`,
      pipeline: gpu.pipeline(`fill_w${w}_${shapeKey(s)}`, fillWgsl(s, w)),
      bindings: [{ buffer: buf, offset: r.start * 4 * w, size: r.count * 4 * w }],
      params: new Params().u32(r.count).u32(nx).f32(value).bytes(),
      workgroups,
    });
  }
}

const reluBackwardWgsl = (acc: boolean) => (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { n: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> y: array<V>;
@group(0) @binding(1) var<storage, read> dY: array<V>;
@group(0) @binding(2) var<storage, read_write> dX: array<V>;
@group(0) @binding(3) var<uniform> p: P;
${header(s)}${streamLoopWgsl(
  s,
  // ReLU's output is positive exactly where its input was, so y alone decides the gradient.
  `let g = select(V(0.0), dY[i], y[i] > V(0.0));
    dX[i] = ${acc ? 'dX[i] + g' : 'g'};`,
)}
}`;

/** dX = dY where y > 0, else 0 (y is ReLU's output); adds into dX when `accumulate`. */
export function reluBackward(gpu: Gpu, a: { y: GPUBuffer; dY: GPUBuffer; dX: GPUBuffer; n: number; accumulate?: boolean }): void {
  const acc = a.accumulate ?? false;
  stream(gpu, `reluBackward${acc ? '_acc' : ''}`, a.n, reluBackwardWgsl(acc), [a.y, a.dY, a.dX], (p) => p);
}

// Dropout's mask is a pure function of (seed, offset + element index): a counter-based generator,
// so backward recomputes the mask instead of storing it, and a run is reproducible from its seed.
// The hash is Chris Wellons' lowbias32 (good avalanche for two multiplies); two rounds with the
// seed folded in between decorrelate streams of nearby seeds. `offset` lets each dropout site in a
// model use its own stretch of counters under one seed. An element is kept when its 32-bit draw is
// at least round(p·2³²), so P(drop) = p to within 2⁻³².
const dropoutWgsl = (acc: boolean) => (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
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
${header(s)}${streamLoopWgsl(
  s,
  `let counter = p.offset + ${w === 4 ? 'i * 4u + vec4u(0u, 1u, 2u, 3u)' : 'i'};
    let draw = lowbias32(lowbias32(counter ^ lowbias32(U(p.seed))) + U(p.seed));
    let kept = select(V(0.0), x[i] * p.scale, draw >= U(p.threshold));
    out[i] = ${acc ? 'out[i] + kept' : 'kept'};`,
)}
}`;

function dropoutLaunch(gpu: Gpu, name: string, src: GPUBuffer, dst: GPUBuffer, n: number, pDrop: number, seed: number, offset: number, acc: boolean): void {
  if (!(pDrop >= 0 && pDrop <= 1)) throw new Error(`kiln: ${name}: p must be in [0, 1], got ${pDrop}`);
  // p = 1 drops everything: the largest threshold keeps only the 2⁻³² draw of 0xffffffff, and scale 0 zeroes even that.
  const threshold = Math.min(0xffffffff, Math.round(pDrop * 2 ** 32));
  const scale = pDrop >= 1 ? 0 : 1 / (1 - pDrop);
  stream(gpu, `dropout${acc ? '_acc' : ''}`, n, dropoutWgsl(acc), [src, dst], (p) => p.u32(seed >>> 0).u32(offset >>> 0).u32(threshold).f32(scale), `${name}${acc ? '_acc' : ''}`);
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
