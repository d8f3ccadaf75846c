import type { Gpu } from './device.js';
import { u32Params } from './params.js';

/**
 * The subgroup size kernels may build on. Kernels that make a workgroup one subgroup (lavapipe's
 * memory-bound layout, the subgroup matmul) need every pipeline to run with one known size, and a
 * workgroup of that many invocations to be exactly one subgroup with lanes 0..lanes-1.
 *
 * What an adapter reports is not enough: lavapipe reports LP_NATIVE_VECTOR_WIDTH / 32 lanes, but
 * gallivm builds compute shaders at most 512 bits wide, so with 1024 or 2048 it reports 32 or 64
 * while every subgroup has 16 lanes (subgroup_size still reads 32 or 64 in the shader, and
 * subgroupAdd sums 16 values). So Gpu.create runs a probe dispatch and keeps what it measured.
 */
export interface SubgroupWidth {
  /** Lanes per subgroup in every pipeline, or null when no kernel may assume a size. */
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
 * The size kernels may assume, from what the adapter reports and what probeSubgroupLanes saw for
 * a workgroup of `maxSize` invocations (`measured`; null when it saw subgroups of different sizes
 * or lanes out of order, or did not run).
 */
export function decideSubgroupWidth(r: ReportedSubgroups, measured: number | null): SubgroupWidth {
  const reported = `the adapter reports subgroups of ${r.minSize === r.maxSize ? r.maxSize : `${r.minSize} to ${r.maxSize}`} lanes`;
  if (!r.feature) return { lanes: null, why: 'the device has no subgroups feature' };
  if (r.minSize !== r.maxSize) {
    return { lanes: null, why: `${reported}: the driver picks each pipeline's size, so no kernel may assume one` };
  }
  if (measured === null) return { lanes: null, why: `${reported}, but a workgroup of ${r.maxSize} did not split into equal subgroups with lanes in order` };
  if (measured === r.maxSize) return { lanes: measured, why: `${reported}, and a workgroup of ${measured} ran as one subgroup` };
  // A software rasterizer's width is fixed when it compiles, the same for every shader; a hardware
  // driver that misreports its size gives no such assurance.
  if (r.isSoftware && measured >= 4 && r.maxSize % measured === 0) {
    return { lanes: measured, why: `${reported}, but runs subgroups of ${measured} (a workgroup of ${r.maxSize} split into ${r.maxSize / measured})` };
  }
  return { lanes: null, why: `${reported}, but a workgroup of ${r.maxSize} ran as subgroups of ${measured}` };
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
 * The lanes per subgroup of a workgroup of `size` invocations, if a workgroup of that many lanes
 * in turn runs as one subgroup, else null. Kernels that rely on subgroups make a workgroup exactly
 * one subgroup, so that is what must hold. (lavapipe chooses a pipeline's width from its workgroup
 * size too: at 256-bit vectors it reports 8 lanes, and runs a workgroup of 8 as one subgroup, but
 * one of 32 as two subgroups of 16.)
 */
export async function probeSubgroupLanes(gpu: Gpu, size: number): Promise<number | null> {
  const lanes = await measureSubgroupLanes(gpu, size);
  if (lanes === null || lanes === size) return lanes;
  return (await measureSubgroupLanes(gpu, lanes)) === lanes ? lanes : null;
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
