import type { Gpu } from './device.js';
import { grid1d } from './params.js';
import { checkLanes } from './subgroupWidth.js';

/**
 * How the memory-bound kernels (elementwise, embedding, reductions, AdamW, layer norm,
 * cross-entropy) lay out their work, chosen per adapter. lavapipe runs a workgroup on one CPU
 * thread, SIMD across one subgroup's lanes; a workgroup wider than a subgroup runs its subgroups
 * one after another, each striding through memory with gaps (what the others will read), which
 * defeats the CPU's prefetchers, and barriers switch coroutines. Each storage access at
 * lane-varying addresses is a loop over the lanes with a bounds check per component, so the time
 * is the number of accesses, not the bytes: one subgroup walking long contiguous chunks copied
 * about twice as fast as a wide workgroup. A discrete GPU wants the opposite: wide workgroups, one
 * element per lane, many workgroups.
 *
 * The ceiling on lavapipe is a shader that reads and writes each element once (`scale`), lower on
 * a training step's small tensors, where a dispatch's fixed cost weighs; a kernel with more
 * accesses per element sits below it in proportion (the measurements: docs/lavapipe-speed.md,
 * "Memory-bound kernels").
 */
export interface MemoryBoundShape {
  /** 'cpu': lavapipe's shape (one subgroup per workgroup, long contiguous chunks); 'gpu': wide workgroups. */
  kind: 'cpu' | 'gpu';
  /** Lanes per workgroup. */
  lanes: number;
  /** Elements (vec4 or f32) each lane handles in a streaming kernel: a workgroup's chunk is lanes·perLane. */
  perLane: number;
  /** Reduce across a workgroup's lanes with subgroupAdd (the workgroup is one subgroup) rather than through workgroup memory. */
  subgroupReduce: boolean;
}

const GPU_SHAPE: MemoryBoundShape = { kind: 'gpu', lanes: 256, perLane: 1, subgroupReduce: false };
const forced = new WeakMap<Gpu, MemoryBoundShape>();

/** The shape for this adapter (or the one a test forced). */
export function memoryBoundShape(gpu: Gpu): MemoryBoundShape {
  const f = forced.get(gpu);
  if (f) return f;
  if (!gpu.adapter.isSoftware) return GPU_SHAPE;
  return cpuShape(gpu, gpu.features.subgroups);
}

// The subgroup sizes the 'cpu' layout's subgroup reductions take: laneSum and laneMax are one
// subgroupAdd or subgroupMax over a workgroup that is exactly one subgroup, at any of these sizes;
// the workgroup-memory tree needs a power of two.
export const CPU_LAYOUT_LANES = [4, 8, 16, 32, 64] as const;

function cpuShape(gpu: Gpu, subgroups: boolean): MemoryBoundShape {
  // A workgroup is one subgroup of the size the probe confirmed (subgroupWidth.ts): 8 lanes at
  // lavapipe's default 256-bit vectors, 16 at 512 bits and above. Without one the layout keeps 8
  // lanes and reduces in workgroup memory.
  const width = checkLanes("the 'cpu' memory-bound layout", CPU_LAYOUT_LANES, gpu.subgroupWidth);
  return { kind: 'cpu', lanes: width.ok ? width.lanes : 8, perLane: 128, subgroupReduce: subgroups && width.ok };
}

/**
 * Tests only: run another adapter kind's kernels on this device ('gpu' on lavapipe, or lavapipe's
 * with and without subgroups), so every variant is property-tested where CI runs. null restores.
 */
export function forceMemoryBoundShape(gpu: Gpu, variant: 'cpu' | 'cpu-no-subgroups' | 'gpu' | null): void {
  if (variant === null) forced.delete(gpu);
  else if (variant === 'gpu') forced.set(gpu, GPU_SHAPE);
  else forced.set(gpu, cpuShape(gpu, variant === 'cpu' && gpu.features.subgroups));
}

/** `enable subgroups;` when the shape reduces with subgroup operations. */
export function subgroupsDirective(s: MemoryBoundShape): string {
  return s.subgroupReduce ? 'enable subgroups;' : '';
}

/**
 * WGSL: `fn laneSum(v: vec4f, lid: u32) -> vec4f` and `fn laneMax(v: f32, lid: u32) -> f32`, the sum
 * (max) over the workgroup's lanes, which every lane receives. laneSum reduces four values at once:
 * callers pack rows or statistics into the components. All lanes must call them (uniform control
 * flow). With subgroupReduce the workgroup is one subgroup and no barrier is needed; otherwise a
 * tree in workgroup memory.
 */
export function laneReduceWgsl(s: MemoryBoundShape): string {
  if (s.subgroupReduce) {
    return /* wgsl */ `
fn laneSum(v: vec4f, lid: u32) -> vec4f { return subgroupAdd(v); }
fn laneMax(v: f32, lid: u32) -> f32 { return subgroupMax(v); }`;
  }
  return /* wgsl */ `
var<workgroup> laneRed: array<vec4f, ${s.lanes}>;
fn laneSum(v: vec4f, lid: u32) -> vec4f {
  laneRed[lid] = v;
  workgroupBarrier();
  for (var h = ${s.lanes / 2}u; h > 0u; h >>= 1u) {
    if (lid < h) { laneRed[lid] += laneRed[lid + h]; }
    workgroupBarrier();
  }
  let total = laneRed[0];
  workgroupBarrier();
  return total;
}
fn laneMax(v: f32, lid: u32) -> f32 {
  laneRed[lid].x = v;
  workgroupBarrier();
  for (var h = ${s.lanes / 2}u; h > 0u; h >>= 1u) {
    if (lid < h) { laneRed[lid].x = max(laneRed[lid].x, laneRed[lid + h].x); }
    workgroupBarrier();
  }
  let total = laneRed[0].x;
  workgroupBarrier();
  return total;
}`;
}

/**
 * WGSL body of a streaming kernel over n elements: `body` runs once per element index `i` < p.n,
 * each workgroup covering a contiguous chunk of lanes·perLane elements with lanes interleaved (so
 * a subgroup reads one contiguous run per step). Expects `wid`, `lid`, and p.n, p.nx in the params.
 */
export function streamLoopWgsl(s: MemoryBoundShape, body: string): string {
  return /* wgsl */ `
  let first = (wid.x + wid.y * p.nx) * ${s.lanes * s.perLane}u + lid;
  for (var k = 0u; k < ${s.perLane}u; k++) {
    let i = first + k * ${s.lanes}u;
    if (i < p.n) { ${body} }
  }`;
}

/** Workgroups for a streaming kernel over n elements (wid.x + wid.y·nx indexes the chunk). */
export function streamGrid(gpu: Gpu, s: MemoryBoundShape, n: number): { workgroups: [number, number]; nx: number } {
  return grid1d(Math.max(1, Math.ceil(n / (s.lanes * s.perLane))), gpu.limits.maxComputeWorkgroupsPerDimension);
}

/** Short tag for pipeline cache keys. */
export function shapeKey(s: MemoryBoundShape): string {
  return `${s.kind}${s.lanes}x${s.perLane}${s.subgroupReduce ? 'sg' : ''}`;
}
