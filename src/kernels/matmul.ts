import type { Gpu } from './device.js';
import { u32Params } from './params.js';

const TILE = 16;

// A plain shared-memory tiled matmul: each 16x16 workgroup stages a 16x16 tile of A and of B in
// workgroup memory per K step. Out-of-range rows/columns load zeros, so any M, N, K work.
const matmulWgsl = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.K; k0 += ${TILE}u) {
    let ka = k0 + lid.x;
    let kb = k0 + lid.y;
    As[lid.y][lid.x] = select(0.0, A[row * p.K + ka], row < p.M && ka < p.K);
    Bs[lid.y][lid.x] = select(0.0, B[kb * p.N + col], kb < p.K && col < p.N);
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) { acc += As[lid.y][k] * Bs[k][lid.x]; }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) { C[row * p.N + col] = acc; }
}`;

/** C[M,N] = A[M,K] · B[K,N], row-major f32. */
export function matmul(gpu: Gpu, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, M: number, N: number, K: number): void {
  gpu.dispatch({
    kernel: `matmul(M=${M},N=${N},K=${K})`,
    pipeline: gpu.pipeline('matmul', matmulWgsl),
    bindings: [{ buffer: a, size: M * K * 4 }, { buffer: b, size: K * N * 4 }, { buffer: c, size: M * N * 4 }],
    params: u32Params(M, N, K, 0),
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)],
    cost: { flops: 2 * M * N * K, bytes: 4 * (M * K + K * N + M * N) },
  });
}
