import type { Gpu } from './runtime/device.js';
import { grid1d, Params } from './runtime/params.js';
import { bindableRanges } from './runtime/slices.js';
import { memoryBoundShape, shapeKey, type MemoryBoundShape } from './runtime/streaming.js';

// Lanes per workgroup from the adapter's memory-bound layout (streaming.ts): one subgroup on
// lavapipe, so a row is one contiguous walk; and on lavapipe each workgroup copies several rows,
// since a workgroup has a fixed cost there.
const rowsPerWorkgroup = (sh: MemoryBoundShape) => (sh.kind === 'cpu' ? 8 : 1);

// Rows move as vec4 when D allows it (lavapipe pays per storage access, not per byte), else as f32.
const widthFor = (D: number): 1 | 4 => (D % 4 === 0 ? 4 : 1);
const vecType = (w: 1 | 4): string => (w === 4 ? 'vec4f' : 'f32');

// A workgroup copies whole output rows, one after another: a row's id is then the same for every
// lane, and the lanes copy the table row in contiguous strides. A table bigger than one binding (50272×1024 f32 is 206 MB)
// is bound in row slices, one dispatch each; a row whose id lies outside the bound slice is left
// to the dispatch whose slice holds it.
const forwardWgsl = (sh: MemoryBoundShape, w: 1 | 4, acc: boolean) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { N: u32, D: u32, nx: u32, row0: u32, rows: u32 }
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = (wid.x + wid.y * p.nx) * ${rowsPerWorkgroup(sh)}u;
  for (var n = n0; n < min(n0 + ${rowsPerWorkgroup(sh)}u, p.N); n++) {
    let r = ids[n] - p.row0;
    if (r >= p.rows) { continue; }
    for (var c = lid; c < p.D; c += ${sh.lanes}u) {
      let o = n * p.D + c;
      ${acc ? 'out[o] = out[o] + table[r * p.D + c];' : 'out[o] = table[r * p.D + c];'}
    }
  }
}`;

/** out[N,D] = table[ids] (ids u32 [N]); adds into out when `accumulate` (learned positions on top of tokens). */
export function embeddingForward(gpu: Gpu, a: { ids: GPUBuffer; table: GPUBuffer; out: GPUBuffer; N: number; D: number; accumulate?: boolean }): void {
  const { N, D } = a;
  const acc = a.accumulate ?? false;
  const w = widthFor(D);
  const sh = memoryBoundShape(gpu);
  const { workgroups, nx } = grid1d(Math.ceil(N / rowsPerWorkgroup(sh)), gpu.limits.maxComputeWorkgroupsPerDimension);
  // The table's row count is unknown here (only ids index it), so slices cover every row the buffer can hold.
  const tableRows = Math.floor(a.table.size / (4 * D));
  for (const s of bindableRanges(gpu.limits, tableRows, [4 * D])) {
    gpu.dispatch({
      kernel: `embeddingForward(N=${N},D=${D}${acc ? ',acc' : ''})`,
      pipeline: gpu.pipeline(`embeddingForward_w${w}${acc ? '_acc' : ''}_${shapeKey(sh)}`, forwardWgsl(sh, w, acc)),
      bindings: [{ buffer: a.ids, size: N * 4 }, { buffer: a.table, offset: s.start * D * 4, size: s.count * D * 4 }, { buffer: a.out, size: N * D * 4 }],
      params: new Params().u32(N).u32(D / w).u32(nx).u32(s.start).u32(s.count).bytes(),
      workgroups,
    });
  }
}

// Deterministic scatter-add without float atomics: the host, which holds the ids, sorts the
// positions by id, so each table row that receives gradient gets one workgroup that sums its
// positions' dOut rows in a fixed order and adds the total once. The plan (distinct ids, each id's
// start in the sorted positions, the positions) travels in one u32 buffer: [ids | starts | pos].
const backwardWgsl = (sh: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${vecType(w)};
struct P { D: u32, nx: u32, first: u32, groups: u32, startsAt: u32, posAt: u32, row0: u32 }
@group(0) @binding(0) var<storage, read> plan: array<u32>;
@group(0) @binding(1) var<storage, read> dOut: array<V>;
@group(0) @binding(2) var<storage, read_write> dTable: array<V>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = p.first + wid.x + wid.y * p.nx;
  if (g >= p.first + p.groups) { return; }
  let r = plan[g] - p.row0;
  let begin = plan[p.startsAt + g];
  let end = plan[p.startsAt + g + 1u];
  for (var c = lid; c < p.D; c += ${sh.lanes}u) {
    var sum = V(0.0);
    for (var j = begin; j < end; j++) { sum += dOut[plan[p.posAt + j] * p.D + c]; }
    dTable[r * p.D + c] += sum;
  }
}`;

/**
 * dTable[id] += Σ dOut[n] over the positions n with ids[n] = id, deterministically. `hostIds` are
 * the forward's ids as the host knows them; row `skipId` (the padding token) gets no gradient.
 */
export function embeddingBackward(
  gpu: Gpu,
  a: { hostIds: Int32Array | Uint32Array; dOut: GPUBuffer; dTable: GPUBuffer; N: number; D: number; skipId?: number },
): void {
  const { N, D, hostIds } = a;
  const w = widthFor(D);
  const sh = memoryBoundShape(gpu);
  const order: number[] = [];
  for (let n = 0; n < N; n++) if (hostIds[n] !== a.skipId) order.push(n);
  if (order.length === 0) return;
  order.sort((x, y) => hostIds[x] - hostIds[y] || x - y);
  const groupIds: number[] = [];
  const starts: number[] = [];
  order.forEach((n, j) => {
    if (j === 0 || hostIds[n] !== hostIds[order[j - 1]]) {
      groupIds.push(hostIds[n]);
      starts.push(j);
    }
  });
  starts.push(order.length);
  const G = groupIds.length;
  const tableRows = Math.floor(a.dTable.size / (4 * D));
  if (groupIds[0] < 0 || groupIds[G - 1] >= tableRows) {
    throw new Error(`kiln: embeddingBackward: ids must lie in [0, ${tableRows}), got ${groupIds[0]}..${groupIds[G - 1]}`);
  }
  const plan = Uint32Array.from([...groupIds, ...starts, ...order]);
  const planBuf = gpu.upload(plan, 'embedding-plan');
  // Groups are sorted by id, so each table slice owns a contiguous run of them.
  let g0 = 0;
  for (const s of bindableRanges(gpu.limits, tableRows, [4 * D])) {
    let g1 = g0;
    while (g1 < G && groupIds[g1] < s.start + s.count) g1++;
    if (g1 > g0) {
      const { workgroups, nx } = grid1d(g1 - g0, gpu.limits.maxComputeWorkgroupsPerDimension);
      gpu.dispatch({
        kernel: `embeddingBackward(N=${N},D=${D},ids=${g1 - g0})`,
        pipeline: gpu.pipeline(`embeddingBackward_w${w}_${shapeKey(sh)}`, backwardWgsl(sh, w)),
        bindings: [{ buffer: planBuf, size: plan.byteLength }, { buffer: a.dOut, size: N * D * 4 }, { buffer: a.dTable, offset: s.start * D * 4, size: s.count * D * 4 }],
        params: new Params().u32(D / w).u32(nx).u32(g0).u32(g1 - g0).u32(G).u32(2 * G + 1).u32(s.start).bytes(),
        workgroups,
      });
    }
    g0 = g1;
  }
  // Safe to release at once: the pool hands it out again only to work recorded after this dispatch.
  gpu.release(planBuf);
}
