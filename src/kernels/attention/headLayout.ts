import type { Gpu } from '../runtime/device.js';
import { Params } from '../runtime/params.js';
import { memoryBoundShape } from '../runtime/streaming.js';

// Moves attention heads between the projections' layout [B, rows, NH·HS] (head h of row t at
// t·C + h·HS) and a head-major, padded layout [heads, Tp, HSp] whose rows are packed, as the
// batched matmul needs. Tp and HSp are T and HS rounded up to 4 so that every product runs the
// matmul's vec4 shader (and one pipeline per layout serves every shape); the padding is zero, so
// padded rows and columns add nothing to any product.

/** T (or HS) rounded up to a multiple of 4. */
export const padded = (n: number) => Math.ceil(n / 4) * 4;

// A workgroup moves a chunk of one head's packed vec4s, lanes interleaved: on lavapipe one
// subgroup walking CPU_PER_LANE vec4s per lane (streaming.ts), on GPUs one vec4 per lane. Head
// and row come from the grid and from divisions by the compile-time HSp/4, never by runtime
// values: lavapipe has no vector integer division and does one per lane, which made these
// copies take about five times their traffic's time.
const CPU_PER_LANE = 16;

export interface HeadSlice {
  /** the [B, rows, NH·HS] tensor */
  tensor: GPUBuffer;
  /** the packed [heads, Tp, HSp] tensor */
  heads: GPUBuffer;
  B: number;
  NH: number;
  HS: number;
  /** rows per sequence in `tensor` (a KV cache's capacity may exceed T) */
  rows: number;
  /** rows moved per head */
  T: number;
  /** first head (b·NH + h) and number of heads moved */
  head0: number;
  count: number;
  /**
   * How `tensor` is stored (toHeads only): 'f16' is IEEE halves packed two per u32 (an f16 KV
   * cache), widened to f32 as they are copied, so the products downstream stay f32. Default 'f32'.
   */
  dtype?: 'f32' | 'f16';
}

function headLayoutWgsl(toHeads: boolean, vec: boolean, half: boolean, HS4: number, sh: { lanes: number; per: number }): string {
  const { lanes, per } = sh;
  const flatType = half ? 'array<u32>' : vec ? 'array<vec4f>' : 'array<f32>';
  // One lane per vec4 of the packed tensor; the flat side is read (or written) as a vec4 when
  // HS % 4 == 0, else per element, the components past HS skipped. Packed halves: element i is
  // half i % 2 of word i / 2, and with HS % 4 == 0 a vec4 is two whole words.
  const vecRead = half ? 'let w = flatAt / 2u; x = vec4f(unpack2x16float(src[w]), unpack2x16float(src[w + 1u]));' : 'x = src[flatAt / 4u];';
  const elementRead = half ? 'let i = flatAt + c; x[c] = unpack2x16float(src[i / 2u])[i % 2u];' : 'x[c] = src[flatAt + c];';
  const body = toHeads
    ? vec
      ? `var x = vec4f(0.0); if (t < p.T) { ${vecRead} } dst[e] = x;`
      : `var x = vec4f(0.0);
    for (var c = 0u; c < 4u; c++) { if (t < p.T && 4u * d + c < p.HS) { ${elementRead} } }
    dst[e] = x;`
    : vec
      ? 'if (t < p.T) { let x = src[e]; let i = flatAt / 4u; dst[i] = select(x, dst[i] + x, p.acc != 0u); }'
      : `if (t < p.T) {
      let x = src[e];
      for (var c = 0u; c < 4u; c++) {
        if (4u * d + c < p.HS) { let i = flatAt + c; dst[i] = select(x[c], dst[i] + x[c], p.acc != 0u); }
      }
    }`;
  return /* wgsl */ `
struct P { T: u32, Tp: u32, HS: u32, rows: u32, NH: u32, head0: u32, acc: u32 }
@group(0) @binding(0) var<storage, read> src: ${toHeads ? flatType : 'array<vec4f>'};
@group(0) @binding(1) var<storage, read_write> dst: ${toHeads ? 'array<vec4f>' : flatType};
@group(0) @binding(2) var<uniform> p: P;
const HS4 = ${HS4}u;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = p.head0 + wid.y;
  // Where head g's rows start in the flat tensor, and in the packed one.
  let flat0 = (g / p.NH) * p.rows * p.NH * p.HS + (g % p.NH) * p.HS;
  let packed0 = wid.y * p.Tp * HS4;
  let first = wid.x * ${lanes * per}u + lid;
  for (var k = 0u; k < ${per}u; k++) {
    let idx = first + k * ${lanes}u;
    if (idx >= p.Tp * HS4) { break; }
    let d = idx % HS4;
    let t = idx / HS4;
    let e = packed0 + idx;
    let flatAt = flat0 + t * p.NH * p.HS + 4u * d;
    ${body}
  }
}`;
}

function move(gpu: Gpu, s: HeadSlice, toHeads: boolean, accumulate: boolean): void {
  const { B, NH, HS, rows, T, head0, count } = s;
  if (T > rows || head0 + count > B * NH) {
    throw new Error(`kiln: headLayout: heads ${head0}..${head0 + count} of T=${T} rows out of B=${B}, NH=${NH}, rows=${rows}`);
  }
  const half = s.dtype === 'f16';
  if (half && !toHeads) throw new Error(`kiln: fromHeads writes f32 only (heads ${head0}..${head0 + count}, B=${B}, NH=${NH}, HS=${HS}, T=${T})`);
  const vec = HS % 4 === 0;
  const Tp = padded(T);
  const HS4 = padded(HS) / 4;
  const layout = memoryBoundShape(gpu);
  const sh = { lanes: layout.lanes, per: layout.kind === 'cpu' ? CPU_PER_LANE : 1 };
  const elements = B * rows * NH * HS;
  const flat = { buffer: s.tensor, size: half ? Math.ceil(elements / 2) * 4 : elements * 4 };
  const packed = { buffer: s.heads, size: count * Tp * HS4 * 16 };
  const name = toHeads ? 'toHeads' : 'fromHeads';
  gpu.dispatch({
    kernel: `${name}(heads=${count},T=${T},HS=${HS}${half ? ',f16' : ''})`,
    pipeline: gpu.pipeline(`${name}${vec ? '-vec4' : ''}${half ? '-f16' : ''}-HS4=${HS4}-${sh.lanes}x${sh.per}`, headLayoutWgsl(toHeads, vec, half, HS4, sh)),
    bindings: toHeads ? [flat, packed] : [packed, flat],
    params: new Params().u32(T).u32(Tp).u32(HS).u32(rows).u32(NH).u32(head0).u32(accumulate ? 1 : 0).bytes(),
    workgroups: [Math.ceil((Tp * HS4) / (sh.lanes * sh.per)), count],
  });
}

/** heads[count, Tp, HSp] = heads head0.. of tensor (f32, or packed f16 widened), zero-padded. */
export function toHeads(gpu: Gpu, s: HeadSlice): void {
  move(gpu, s, true, false);
}

/** tensor (+)= heads[count, Tp, HSp] in the first T rows of heads head0..; padding is dropped. */
export function fromHeads(gpu: Gpu, s: HeadSlice & { accumulate?: boolean }): void {
  move(gpu, s, false, s.accumulate ?? false);
}
