import type { Gpu } from './runtime/device.js';
import { grid1d, Params } from './runtime/params.js';

// The Llama family's MLP activation: h = silu(gate)·up, silu(g) = g·σ(g). Its backward:
//   dGate = dH·up·σ(g)·(1 + g·(1 − σ(g))),   dUp = dH·silu(g).
// One invocation per element; σ is computed as 1/(1 + exp(−g)) with exp's argument clamped so
// large |g| neither overflows nor produces NaN (σ saturates to 0 or 1 exactly as in f32 torch).
const LANES = 64;

const sigmoid = /* wgsl */ `fn sigmoid(g: f32) -> f32 { return 1.0 / (1.0 + exp(clamp(-g, -80.0, 80.0))); }`;

const forwardWgsl = /* wgsl */ `
${sigmoid}
struct P { n: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  h[i] = g * sigmoid(g) * up[i];
}`;

const backwardWgsl = (accGate: boolean, accUp: boolean) => /* wgsl */ `
${sigmoid}
struct P { n: u32, nx: u32 }
@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> dH: array<f32>;
@group(0) @binding(3) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * p.nx) * ${LANES}u + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  let s = sigmoid(g);
  let d = dH[i];
  let dg = d * up[i] * s * (1.0 + g * (1.0 - s));
  let du = d * g * s;
  dGate[i] = ${accGate ? 'dGate[i] + dg' : 'dg'};
  dUp[i] = ${accUp ? 'dUp[i] + du' : 'du'};
}`;

function grid(gpu: Gpu, n: number) {
  return grid1d(Math.ceil(n / LANES), gpu.limits.maxComputeWorkgroupsPerDimension);
}

/** h = silu(gate)·up over n floats. */
export function gatedMlpForward(gpu: Gpu, a: { gate: GPUBuffer; up: GPUBuffer; h: GPUBuffer; n: number }): void {
  const { workgroups, nx } = grid(gpu, a.n);
  const bytes = a.n * 4;
  gpu.dispatch({
    kernel: `gatedMlpForward(n=${a.n})`,
    pipeline: gpu.pipeline('gatedMlpForward', forwardWgsl),
    bindings: [a.gate, a.up, a.h].map((buffer) => ({ buffer, size: bytes })),
    params: new Params().u32(a.n).u32(nx).bytes(),
    workgroups,
  });
}

/** dGate and dUp from dH (each overwritten, or added when its flag is set). */
export function gatedMlpBackward(
  gpu: Gpu,
  a: { gate: GPUBuffer; up: GPUBuffer; dH: GPUBuffer; dGate: GPUBuffer; dUp: GPUBuffer; n: number; accumulateGate?: boolean; accumulateUp?: boolean },
): void {
  const { workgroups, nx } = grid(gpu, a.n);
  const bytes = a.n * 4;
  const accG = a.accumulateGate ?? false;
  const accU = a.accumulateUp ?? false;
  gpu.dispatch({
    kernel: `gatedMlpBackward(n=${a.n})`,
    pipeline: gpu.pipeline(`gatedMlpBackward_${Number(accG)}${Number(accU)}`, backwardWgsl(accG, accU)),
    bindings: [a.gate, a.up, a.dH, a.dGate, a.dUp].map((buffer) => ({ buffer, size: bytes })),
    params: new Params().u32(a.n).u32(nx).bytes(),
    workgroups,
  });
}
