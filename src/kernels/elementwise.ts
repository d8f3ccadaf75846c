import type { Gpu } from './device.js';
import { grid1d, Params } from './params.js';

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
