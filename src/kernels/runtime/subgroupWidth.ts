import type { Gpu } from './device.js';
import { u32Params } from './params.js';

/**
 * The subgroup size kernels may build on. Kernels that make a workgroup one subgroup (lavapipe's
 * memory-bound layout, the subgroup matmul) need a workgroup of that many invocations to run as
 * exactly one subgroup, lanes 0..lanes-1.
 *
 * What an adapter reports is not enough. lavapipe reports LP_NATIVE_VECTOR_WIDTH / 32 lanes, but
 * chooses each shader's SIMD width itself, at most 16 lanes: with 1024 or 2048 bits it reports 32
 * or 64 while a workgroup of 32 runs as two subgroups of 16 (subgroup_size still reads 32 or 64 in
 * the shader, and subgroupAdd sums 16 values). So Gpu.create probes for the widest workgroup, up
 * to the reported size, that runs as one subgroup, and the kernels' tests at every width
 * (.ci/run) hold the kernels' own shaders to it.
 */
export interface SubgroupWidth {
  /** Lanes a workgroup may have and still run as one subgroup, or null when no kernel may assume a size. */
  lanes: number | null;
  /** Why `lanes` is what it is: shown with KILN_VERBOSE and in the refusals that follow from it. */
  why: string;
}

/** What the decision reads from the adapter; a plain record so tests can pass any adapter. */
export interface ReportedSubgroups {
  feature: boolean;
  minSize: number;
  maxSize: number;
  isSoftware: boolean;
}

/**
 * The size kernels may assume, from what the adapter reports and what probeSubgroupLanes found
 * from `maxSize` down (`measured`; null when no workgroup ran as one subgroup, or no probe ran).
 */
export function decideSubgroupWidth(r: ReportedSubgroups, measured: number | null): SubgroupWidth {
  const reported = `the adapter reports subgroups of ${r.minSize === r.maxSize ? r.maxSize : `${r.minSize} to ${r.maxSize}`} lanes`;
  if (!r.feature) return { lanes: null, why: 'the device has no subgroups feature' };
  if (r.minSize !== r.maxSize) {
    return { lanes: null, why: `${reported}: the driver picks each pipeline's size, so no kernel may assume one` };
  }
  if (measured === r.maxSize) return { lanes: measured, why: `${reported}, and a workgroup of ${measured} ran as one subgroup` };
  if (measured === null) return { lanes: null, why: `${reported}, but no workgroup of 4 to ${r.maxSize} invocations ran as one subgroup` };
  // A software rasterizer's split is its compiler's choice, which CI's runs at each vector width
  // test; a hardware driver that misreports its size gives no such assurance.
  if (r.isSoftware && measured >= 4 && r.maxSize % measured === 0) {
    return { lanes: measured, why: `${reported}, but a workgroup of ${r.maxSize} split into subgroups; one of ${measured} ran as one subgroup` };
  }
  return { lanes: null, why: `${reported}, but only a workgroup of ${measured} ran as one subgroup` };
}

// Per invocation: the lanes subgroupAdd counts in its subgroup, and its subgroup_invocation_id.
const probeWgsl = (size: number) => /* wgsl */ `
enable subgroups;
struct P { one: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(${size})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  out[2u * lid] = subgroupAdd(p.one);
  out[2u * lid + 1u] = lane;
}`;

/**
 * The widest workgroup, from `size` down by halves to 4 invocations, that runs as one subgroup
 * (null if none does). Kernels that rely on subgroups make a workgroup exactly one subgroup, so
 * that is what must hold. lavapipe picks each shader's width itself, from the vector width and
 * the shader: at 2048-bit vectors it reports 64 lanes, runs this probe's workgroup of 64 as 16
 * subgroups of 4 and one of 32 as two of 16, and one of 16 as one subgroup
 * (docs/subgroup-sizes.md). The kernels' own tests at each width are what certify them.
 */
export async function probeSubgroupLanes(gpu: Gpu, size: number): Promise<number | null> {
  for (let lanes = size; lanes >= 4; lanes /= 2) {
    if ((await measureSubgroupLanes(gpu, lanes)) === lanes) return lanes;
  }
  return null;
}

/** Lanes per subgroup in a workgroup of `size` invocations, if every subgroup has as many, lanes in order. */
export async function measureSubgroupLanes(gpu: Gpu, size: number): Promise<number | null> {
  const out = gpu.alloc(8 * size, 'subgroup-probe');
  try {
    gpu.dispatch({
      kernel: `subgroupProbe(size=${size})`,
      pipeline: gpu.pipeline(`subgroupProbe_${size}`, probeWgsl(size)),
      bindings: [{ buffer: out, size: 8 * size }],
      params: u32Params(1, 0, 0, 0),
      workgroups: [1, 1, 1],
    });
    const seen = new Uint32Array(await gpu.read(out, 0, 8 * size));
    const lanes = seen[0];
    if (lanes < 1 || size % lanes !== 0) return null;
    for (let i = 0; i < size; i++) {
      if (seen[2 * i] !== lanes || seen[2 * i + 1] !== i % lanes) return null;
    }
    return lanes;
  } finally {
    gpu.release(out);
  }
}

/** Whether `lanes` is one of the subgroup sizes a kernel states it supports; else why not. */
export function checkLanes(kernel: string, supported: readonly number[], w: SubgroupWidth): { ok: true; lanes: number } | { ok: false; why: string } {
  if (w.lanes === null) return { ok: false, why: `${kernel} needs one known subgroup size: ${w.why}` };
  if (!supported.includes(w.lanes)) return { ok: false, why: `${kernel} supports subgroups of ${supported.join(', ')} lanes, not ${w.lanes} (${w.why})` };
  return { ok: true, lanes: w.lanes };
}
