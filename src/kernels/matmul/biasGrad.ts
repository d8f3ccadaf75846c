import type { Gpu } from '../runtime/device.js';
import { grid1d, u32Params } from '../runtime/params.js';
import { memoryBoundShape } from '../runtime/streaming.js';

// One lane per column (four columns as a vec4 when N allows), summing down the rows in order:
// deterministic, and each row's columns are read contiguously across a workgroup's lanes. On
// lavapipe a workgroup is one subgroup (streaming.ts: wider ones run their subgroups one after
// another, striding through memory); GPUs take 64 lanes of single columns.
const biasGradWgsl = (lanes: number, w: 1 | 4) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { M: u32, N: u32, nx: u32, _a: u32 }
@group(0) @binding(0) var<storage, read> dY: array<V>;
@group(0) @binding(1) var<storage, read_write> dBias: array<V>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * p.nx) * ${lanes}u + lid;
  if (n >= p.N) { return; }
  var s = V(0.0);
  for (var m = 0u; m < p.M; m++) { s += dY[m * p.N + n]; }
  dBias[n] += s;
}`;

/** dBias[N] += column sums of dY[M,N] (the bias gradient of a linear layer). */
export function biasGrad(gpu: Gpu, args: { dY: GPUBuffer; dBias: GPUBuffer; M: number; N: number }): void {
  const { dY, dBias, M, N } = args;
  const sh = memoryBoundShape(gpu);
  const cpu = sh.kind === 'cpu';
  const lanes = cpu ? sh.lanes : 64;
  const w = cpu && N % 4 === 0 ? 4 : 1;
  const { workgroups, nx } = grid1d(Math.ceil(N / w / lanes), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `biasGrad(M=${M},N=${N})`,
    pipeline: gpu.pipeline(`biasGrad_w${w}_${lanes}`, biasGradWgsl(lanes, w)),
    bindings: [{ buffer: dY, size: 4 * M * N }, { buffer: dBias, size: 4 * N }],
    params: u32Params(M, N / w, nx, 0),
    workgroups,
  });
}
