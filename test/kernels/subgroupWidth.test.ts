import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { subgroupMatmulLanes, subgroupMatmulWgsl, SUBGROUP_MATMUL_LANES, SUBGROUP_TM } from '../../src/kernels/matmul/index.js';
import { CPU_LAYOUT_LANES, memoryBoundShape } from '../../src/kernels/runtime/streaming.js';
import { checkLanes, decideSubgroupWidth, measureSubgroupLanes, type ReportedSubgroups } from '../../src/kernels/runtime/subgroupWidth.js';
import { useGpu } from '../helpers/gpu.js';

const gpu = useGpu();

const lavapipe = (size: number): ReportedSubgroups => ({ feature: true, minSize: size, maxSize: size, isSoftware: true });
const hardware = (minSize: number, maxSize: number): ReportedSubgroups => ({ feature: true, minSize, maxSize, isSoftware: false });

/** The fields the variant choices read, for an adapter that reported `r` and a probe that measured `measured`. */
function fakeGpu(r: ReportedSubgroups, measured: number | null): Gpu {
  return {
    adapter: { isSoftware: r.isSoftware, subgroupMinSize: r.minSize, subgroupMaxSize: r.maxSize },
    features: { subgroups: r.feature },
    subgroupWidth: decideSubgroupWidth(r, measured),
  } as unknown as Gpu;
}

describe('the subgroup size kernels may assume', () => {
  it('is the reported size when a probe confirms it, at every size lavapipe runs', () => {
    for (const size of [4, 8, 16]) expect(decideSubgroupWidth(lavapipe(size), size).lanes).toBe(size);
    expect(decideSubgroupWidth(hardware(32, 32), 32).lanes).toBe(32);
    expect(decideSubgroupWidth(hardware(64, 64), 64).lanes).toBe(64);
  });

  it("is what lavapipe runs, not what it reports, above 512-bit vectors (32 and 64 reported, 16 run)", () => {
    for (const size of [32, 64]) {
      const w = decideSubgroupWidth(lavapipe(size), 16);
      expect(w.lanes).toBe(16);
      expect(w.why).toMatch(new RegExp(`reports subgroups of ${size} lanes, but a workgroup of ${size} split into subgroups; one of 16 ran as one subgroup`));
    }
  });

  it('is none, with the reason, where sizes vary, the feature is missing, or a hardware probe disagrees', () => {
    const varying = decideSubgroupWidth(hardware(8, 32), null);
    expect(varying).toEqual({ lanes: null, why: expect.stringMatching(/8 to 32 lanes: the driver picks each pipeline's size/) });
    expect(decideSubgroupWidth(hardware(32, 64), 32).lanes).toBeNull();
    expect(decideSubgroupWidth({ ...lavapipe(8), feature: false }, null)).toEqual({ lanes: null, why: 'the device has no subgroups feature' });
    expect(decideSubgroupWidth(hardware(32, 32), 16).lanes).toBeNull();
    expect(decideSubgroupWidth(lavapipe(32), null).lanes).toBeNull();
    expect(decideSubgroupWidth(lavapipe(32), null).why).toMatch(/no workgroup of 4 to 32 invocations ran as one subgroup/);
  });

  it('on this device: a workgroup of the assumed size runs as one subgroup, lanes in order', async (ctx) => {
    const g = gpu();
    const lanes = g.subgroupWidth.lanes;
    if (lanes === null) {
      ctx.skip(g.subgroupWidth.why);
      return;
    }
    expect(await measureSubgroupLanes(g, lanes)).toBe(lanes);
    if (lanes !== g.adapter.subgroupMaxSize) expect(g.adapter.isSoftware).toBe(true);
  });
});

describe('the variant choices check the subgroup sizes each kernel supports', () => {
  it('checkLanes names the kernel, its sizes and the reason', () => {
    expect(checkLanes('k', [8, 16], { lanes: 16, why: '' })).toEqual({ ok: true, lanes: 16 });
    expect(checkLanes('k', [8, 16], { lanes: 32, why: 'w' })).toEqual({ ok: false, why: 'k supports subgroups of 8, 16 lanes, not 32 (w)' });
    expect(checkLanes('k', [8, 16], { lanes: null, why: 'w' })).toEqual({ ok: false, why: 'k needs one known subgroup size: w' });
  });

  it("lavapipe's memory-bound layout is one subgroup per workgroup wherever the size is one it supports, else 8 lanes reducing in workgroup memory", () => {
    for (const size of CPU_LAYOUT_LANES.filter((s) => s <= 16)) {
      expect(memoryBoundShape(fakeGpu(lavapipe(size), size))).toEqual({ kind: 'cpu', lanes: size, perLane: 128, subgroupReduce: true });
    }
    expect(memoryBoundShape(fakeGpu(lavapipe(64), 16))).toEqual({ kind: 'cpu', lanes: 16, perLane: 128, subgroupReduce: true });
    const varying = { ...lavapipe(8), minSize: 4 };
    expect(memoryBoundShape(fakeGpu(varying, null))).toEqual({ kind: 'cpu', lanes: 8, perLane: 128, subgroupReduce: false });
    expect(memoryBoundShape(fakeGpu(lavapipe(128), 128))).toEqual({ kind: 'cpu', lanes: 8, perLane: 128, subgroupReduce: false });
    expect(memoryBoundShape(fakeGpu(hardware(8, 32), null)).kind).toBe('gpu');
  });

  it("the subgroup matmul runs at the sizes dividing its 32-row tile and is refused, with the reason, elsewhere", () => {
    for (const size of SUBGROUP_MATMUL_LANES) expect(subgroupMatmulLanes(fakeGpu(hardware(size, size), size))).toEqual({ ok: true, lanes: size });
    expect(subgroupMatmulLanes(fakeGpu(lavapipe(64), 16))).toEqual({ ok: true, lanes: 16 });
    const wide = subgroupMatmulLanes(fakeGpu(hardware(64, 64), 64));
    expect(wide.ok ? '' : wide.why).toMatch(/supports subgroups of 4, 8, 16, 32 lanes, not 64/);
    const varying = subgroupMatmulLanes(fakeGpu(hardware(16, 32), null));
    expect(varying.ok ? '' : varying.why).toMatch(/16 to 32 lanes/);
  });

  it('the subgroup matmul compiles at every size it supports, those this device cannot run included', async (ctx) => {
    const g = gpu();
    if (!g.features.subgroups) {
      ctx.skip('the device has no subgroups feature');
      return;
    }
    for (const SG of SUBGROUP_MATMUL_LANES) {
      for (const layout of ['nn', 'nt', 'tn'] as const) {
        for (const vec of [true, false]) {
          const module = g.device.createShaderModule({ code: subgroupMatmulWgsl({ layout, vec }, vec ? SUBGROUP_TM : SG, SG, 1) });
          const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
          expect(errors.map((m) => m.message), `SG=${SG} ${layout} vec=${vec}`).toEqual([]);
        }
      }
    }
  });
});
