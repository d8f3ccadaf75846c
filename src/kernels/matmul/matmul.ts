import type { Gpu } from '../runtime/device.js';
import { f16ToF32 } from '../casts.js';
import { Params } from '../runtime/params.js';
import { defaultVariant } from './defaultVariant.js';
import { GEMV_MT, gemvRows, gemvWgsl } from './gemv.js';
import type { MatmulArgs } from './matmulArgs.js';
import { relayoutToNt } from './relayoutToNt.js';
import { SUBGROUP_CV, SUBGROUP_TM, subgroupMatmulGrid, subgroupMatmulLanes, subgroupMatmulWgsl } from './subgroupMatmul.js';
import { tiledMatmulWgsl } from './tiledMatmul.js';

// Generated sources by shape: every dispatch needs its source before the pipeline cache can answer,
// generating the subgroup kernel's takes longer than recording a dispatch, and decoding records
// hundreds of matmuls per token (docs/lavapipe-speed.md, "Generating matmul sources").
const sources = new Map<string, string>();
function source(key: string, make: () => string): string {
  let code = sources.get(key);
  if (code === undefined) sources.set(key, (code = make()));
  return code;
}

/**
 * C = op(A)·op(B) with the fused epilogue C (+)= relu(alpha·op(A)·op(B) + bias), over `batch`
 * strided items. Any M, N, K ≥ 1.
 */
export function matmul(gpu: Gpu, args: MatmulArgs): void {
  const { a, b, c, M, N, K, layout = 'nn', batch = 1, bias, relu = false, accumulate = false, alpha = 1, bDtype = 'f32' } = args;
  const { offsetA = 0, offsetB = 0, offsetC = 0, strideA = M * K, strideB = K * N, strideC = M * N } = args;
  if (M < 1 || N < 1 || K < 1 || batch < 1) throw new Error(`kiln: matmul needs M, N, K, batch >= 1 (got ${M}, ${N}, ${K}, ${batch})`);
  const variant = args.variant ?? defaultVariant(gpu, layout, M, N, K);
  const spanB = offsetB + (batch - 1) * strideB + K * N;
  const f16 = bDtype === 'f16';
  if (f16 && variant !== 'gemv') {
    // Widened from element 0 so that offsets and strides keep their meaning.
    const wide = gpu.alloc(4 * spanB, 'matmul-b-f32');
    f16ToF32(gpu, { src: b, dst: wide, n: spanB });
    matmul(gpu, { ...args, b: wide, bDtype: 'f32', variant });
    gpu.release(wide);
    return;
  }
  const lanes = subgroupMatmulLanes(gpu);
  if (variant.startsWith('subgroup') && !lanes.ok) throw new Error(`kiln: ${lanes.why}`);
  const SG = lanes.ok ? lanes.lanes : 0;
  if (variant === 'subgroup-nt') {
    const { next, temps } = relayoutToNt(gpu, args);
    matmul(gpu, next);
    for (const t of temps) gpu.release(t);
    return;
  }
  if (variant === 'gemv' && layout !== 'nt') throw new Error(`kiln: matmul variant 'gemv' is for layout 'nt' (got '${layout}')`);
  const four = (...xs: number[]) => xs.every((x) => x % 4 === 0);
  let pipeline: GPUComputePipeline;
  let name: string;
  let workgroups: [number, number, number];
  if (variant === 'gemv') {
    // vec4 loads need the rows of A and B (along K) 16-byte aligned; C is stored per element.
    const vec = four(offsetA, strideA, offsetB, strideB, K) && (!f16 || [offsetB, strideB, K].every((x) => x % 8 === 0));
    const MT = GEMV_MT.find((x) => x >= M) ?? GEMV_MT[GEMV_MT.length - 1];
    const R = gemvRows(MT);
    const WG = gpu.adapter.isSoftware ? 8 : 64;
    name = `nt${vec ? '-vec4' : ''}${f16 ? '-f16' : ''},MT=${MT}`;
    pipeline = gpu.pipeline(`matmul-gemv(${name},R=${R},WG=${WG})`, source(`gemv ${vec} ${f16} ${MT} ${R} ${WG}`, () => gemvWgsl({ vec, f16 }, MT, R, WG)));
    workgroups = [Math.ceil(N / (WG * R)), Math.ceil(M / MT), batch];
  } else {
    const sub = variant === 'subgroup';
    // vec4 rows need every row start of every batch item 16-byte aligned, in all three operands.
    const vec = sub && four(offsetA, strideA, offsetB, strideB, offsetC, strideC, N, layout === 'tn' ? M : K, layout === 'nt' ? K : N);
    name = `${layout}${vec ? '-vec4' : ''}`;
    const TM = vec ? SUBGROUP_TM : SG;
    pipeline = sub
      ? gpu.pipeline(`matmul-subgroup(${name})`, source(`subgroup ${layout} ${vec} ${TM} ${SG}`, () => subgroupMatmulWgsl({ layout, vec }, TM, SG, SUBGROUP_CV)))
      : gpu.pipeline(`matmul-tiled(${name})`, source(`tiled ${layout} ${vec}`, () => tiledMatmulWgsl({ layout, vec })));
    workgroups = sub ? subgroupMatmulGrid(M, N, batch, TM, SG, SUBGROUP_CV) : [Math.ceil(N / 64), Math.ceil(M / 64), batch];
  }
  const span = (off: number, stride: number, size: number) => 4 * (off + (batch - 1) * stride + size);
  // Without a bias the shader never reads binding 2; A stands in (two read-only bindings may alias).
  const bindings = [
    { buffer: a, size: span(offsetA, strideA, M * K) },
    { buffer: b, size: f16 ? 4 * Math.ceil(spanB / 2) : 4 * spanB },
    bias ? { buffer: bias, size: 4 * N } : { buffer: a, size: 4 },
    { buffer: c, size: span(offsetC, strideC, M * N) },
  ];
  const flags = (bias ? 1 : 0) | (relu ? 2 : 0) | (accumulate ? 4 : 0);
  gpu.dispatch({
    kernel: `matmul-${variant}(${name},M=${M},N=${N},K=${K},batch=${batch},flags=${flags})`,
    pipeline,
    bindings,
    params: new Params().u32(M).u32(N).u32(K).u32(offsetA).u32(offsetB).u32(offsetC).u32(strideA).u32(strideB).u32(strideC).f32(alpha).u32(flags).bytes(),
    workgroups,
  });
}
