import type { Gpu } from '../runtime/device.js';
import { HAS_MASK, HAS_SEG, kvBytes, LOWEST, optionalBindings, type AttentionInputs } from './masking.js';
import { laneReduceWgsl, memoryBoundShape, shapeKey, subgroupsDirective } from '../runtime/streaming.js';
import { bindings, HAS_LSE, MASK_AND_SEGMENTS, PARAMS, params, ROWS, rowAccess, rowType, stageKeyTile, tileFor, type Spec } from './flashAttentionLayout.js';

// Flash attention's forward (the layout: flashAttentionLayout.ts): a lane per query row folding
// key tiles into an online softmax, or for a few query rows (decoding) lanes splitting the keys.

// Up to this many query rows (decoding from a KV cache has one) the forward splits keys across
// lanes instead (decodeWgsl): with a lane per row, all but Tq lanes of a workgroup would idle.
const DECODE_MAX_ROWS = 8;

const kvType = (HS: number, kvDtype: 'f32' | 'f16') => (kvDtype === 'f16' ? 'array<u32>' : rowType(HS));

/** Both forward kernels' bindings: q, k and v (k and v of type kvT), out, lse, mask, segments. */
function forwardBindings(HS: number, kvT: string): string {
  return bindings([
    ['q', rowType(HS), 'read'],
    ['k', kvT, 'read'],
    ['v', kvT, 'read'],
    ['out', rowType(HS), 'read_write'],
    ['lse', 'array<f32>', 'read_write'],
    ...MASK_AND_SEGMENTS,
  ]);
}

// The lane's running softmax (max m, sum l, output o) and its step for one key's score: rescale
// lazily, only when the max grows; the caller adds the returned weight times the key's v row.
const onlineSoftmaxWgsl = /* wgsl */ `
var<private> o: Row;
var<private> m: f32;
var<private> l: f32;
fn foldScore(sc: f32) -> f32 {
  if (sc > m) {
    let corr = exp(m - sc);
    l *= corr;
    for (var d = 0u; d < HS4; d++) { o[d] *= corr; }
    m = sc;
  }
  let w = exp(sc - m);
  l += w;
  return w;
}`;

function forwardWgsl(s: Spec): string {
  const { HS, tile: BK } = s;
  const kvDtype = s.kvDtype ?? 'f32';
  const wide = kvDtype === 'f16' && HS % 8 === 0;
  return /* wgsl */ `
${PARAMS}
${forwardBindings(HS, wide ? 'array<vec4u>' : kvType(HS, kvDtype))}
${rowAccess(HS, wide ? ['q'] : ['q', 'k', 'v'], ['out'], kvDtype === 'f16' ? ['k', 'v'] : [])}
const LOWEST = ${LOWEST};
var<workgroup> kT: array<Row, ${BK}>;
var<workgroup> vT: array<Row, ${BK}>;
var<workgroup> keyOk: array<u32, ${BK}>;
var<workgroup> keySeg: array<u32, ${BK}>;
var<workgroup> flags: array<u32, ${ROWS}>;
var<workgroup> anyBlind: u32;
var<private> qi: Row;
${onlineSoftmaxWgsl}

// Stages keys kt..kt+BK of (b, h) and folds them into this lane's running softmax.
fn keyTile(kt: u32, b: u32, h: u32, lid: u32, pos: u32, segI: u32) {
${stageKeyTile(BK, HS, ROWS, wide)}
  // One key at a time with a lazy rescale (only when the max grows): a score array per lane with
  // the loop unrolled made lavapipe's LLVM take tens of seconds to compile; the runtime trip count
  // keeps the loop rolled, and keys past Tk are never visited.
  for (var jj = 0u; jj < min(${BK}u, p.Tk - kt); jj++) {
    var qk = 0.0;
    for (var d = 0u; d < HS4; d++) { qk += dot(qi[d], kT[jj][d]); }
    let visible = kt + jj <= pos && keyOk[jj] != 0u && keySeg[jj] == segI;
    let w = foldScore(select(LOWEST, qk * p.scale, visible));
    for (var d = 0u; d < HS4; d++) { o[d] += w * vT[jj][d]; }
  }
}

@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let q0 = wid.x * ${ROWS}u;
  let i = q0 + lid;
  let live = i < p.Tq;
  let iq = min(i, p.Tq - 1u);
  let pos = iq + p.qOff;
  let qBase = (b * p.Tq + iq) * p.C + h * ${HS}u;
  for (var d = 0u; d < HS4; d++) { qi[d] = ld_q(qBase, d); o[d] = vec4f(0.0); }
  m = LOWEST;
  l = 0.0;
  let segI = select(0u, seg[b * p.Tk + pos], (p.flags & ${HAS_SEG}u) != 0u);
  // Causal bound: no key after the tile's last query position is visible to any of its rows.
  let kEnd = min(p.Tk, min(q0 + ${ROWS}u, p.Tq) + p.qOff);
  for (var kt = 0u; kt < kEnd; kt += ${BK}u) { keyTile(kt, b, h, lid, pos, segI); }
  // A row that saw no key attends to all Tk keys, the causally hidden ones included: continue
  // over the rest of the keys if any row of the tile needs it (they add exactly 0 to the others).
  flags[lid] = select(0u, 1u, live && m == LOWEST);
  workgroupBarrier();
  if (lid == 0u) {
    var seen = 0u;
    for (var r = 0u; r < ${ROWS}u; r++) { seen |= flags[r]; }
    anyBlind = seen;
  }
  let blind = workgroupUniformLoad(&anyBlind);
  if (blind != 0u) {
    for (var kt = (kEnd + ${BK - 1}u) / ${BK}u * ${BK}u; kt < p.Tk; kt += ${BK}u) { keyTile(kt, b, h, lid, pos, segI); }
  }
  if (!live) { return; }
  let inv = 1.0 / l;
  for (var d = 0u; d < HS4; d++) { st_out(qBase, d, o[d] * inv, false); }
  if ((p.flags & ${HAS_LSE}u) != 0u) { lse[wid.y * p.Tq + i] = m + log(l); }
}`;
}

/**
 * The forward for a few query rows (decoding): a workgroup per (query row, b·h), in the adapter's
 * memory-bound layout (streaming.ts), its lanes taking keys lane, lane + lanes, ... straight from
 * storage, each folding them into its own online softmax; the lanes' (max, sum, output) then merge
 * by the usual rescaling. Every lane works, where a lane per query row left all but one idle
 * (docs/lavapipe-speed.md, "Attention: which variant runs").
 * Every row visits all Tk keys, the causally hidden ones scored LOWEST, which gives a blind row
 * HF's uniform attention with no second pass (at most DECODE_MAX_ROWS - 1 keys more than needed).
 */
function decodeWgsl(HS: number, kvDtype: 'f32' | 'f16', sh: ReturnType<typeof memoryBoundShape>): string {
  return /* wgsl */ `
${subgroupsDirective(sh)}
${PARAMS}
${forwardBindings(HS, kvType(HS, kvDtype))}
${rowAccess(HS, ['q', 'k', 'v'], ['out'], kvDtype === 'f16' ? ['k', 'v'] : [])}
${laneReduceWgsl(sh)}
const LOWEST = ${LOWEST};
var<private> qi: Row;
${onlineSoftmaxWgsl}

@compute @workgroup_size(${sh.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let pos = i + p.qOff;
  let qBase = (b * p.Tq + i) * p.C + h * ${HS}u;
  for (var d = 0u; d < HS4; d++) { qi[d] = ld_q(qBase, d); o[d] = vec4f(0.0); }
  let segI = select(0u, seg[b * p.Tk + pos], (p.flags & ${HAS_SEG}u) != 0u);
  m = LOWEST;
  l = 0.0;
  for (var j = lid; j < p.Tk; j += ${sh.lanes}u) {
    let base = (b * p.kvRows + j) * p.C + h * ${HS}u;
    var qk = 0.0;
    for (var d = 0u; d < HS4; d++) { qk += dot(qi[d], ld_k(base, d)); }
    let keyOk = (p.flags & ${HAS_MASK}u) == 0u || mask[b * p.kvRows + j] != 0u;
    let keySeg = select(0u, seg[b * p.Tk + j], (p.flags & ${HAS_SEG}u) != 0u);
    let w = foldScore(select(LOWEST, qk * p.scale, j <= pos && keyOk && keySeg == segI));
    for (var d = 0u; d < HS4; d++) { o[d] += w * ld_v(base, d); }
  }
  // A lane that saw no key (Tk < lanes) holds l = 0 and o = 0 and adds nothing.
  let mAll = laneMax(m, lid);
  let corr = exp(m - mAll);
  let lAll = laneSum(vec4f(l * corr, 0.0, 0.0, 0.0), lid).x;
  let inv = 1.0 / lAll;
  for (var d = 0u; d < HS4; d++) {
    let od = laneSum(o[d] * corr, lid);
    if (lid == 0u) { st_out(qBase, d, od * inv, false); }
  }
  if (lid == 0u && (p.flags & ${HAS_LSE}u) != 0u) { lse[wid.y * p.Tq + i] = mAll + log(lAll); }
}`;
}

/** attentionForward (attention.ts) by flash attention: any Tq <= Tk, shapes already checked. */
export function flashAttentionForward(
  gpu: Gpu,
  a: AttentionInputs & { out: GPUBuffer; lse?: GPUBuffer; Tq: number; Tk: number; kvRows: number },
): void {
  const { B, NH, HS, Tq, Tk, kvRows } = a;
  const C = NH * HS;
  const opt = optionalBindings(gpu, a, kvRows, Tk);
  const lseDummy = a.lse ? null : gpu.alloc(16, 'attention-unused');
  const kvDtype = a.kvDtype ?? 'f32';
  const kv = kvBytes(a, B * kvRows * C);
  const decode = Tq <= DECODE_MAX_ROWS;
  const sh = memoryBoundShape(gpu);
  gpu.dispatch({
    kernel: `attentionFlash${decode ? 'Decode' : 'Forward'}(B=${B},NH=${NH},HS=${HS},Tq=${Tq},Tk=${Tk},kv=${kvDtype})`,
    pipeline: decode
      ? gpu.pipeline(`attentionDecode-${kvDtype}-${shapeKey(sh)}`, decodeWgsl(HS, kvDtype, sh))
      : gpu.pipeline(`attentionForward-${kvDtype}`, forwardWgsl({ HS, tile: tileFor(HS), kvDtype })),
    bindings: [
      { buffer: a.q, size: B * Tq * C * 4 },
      { buffer: a.k, size: kv },
      { buffer: a.v, size: kv },
      { buffer: a.out, size: B * Tq * C * 4 },
      a.lse ? { buffer: a.lse, size: B * NH * Tq * 4 } : { buffer: lseDummy!, size: 16 },
      ...opt.list,
    ],
    params: params(a, Tq, Tk, kvRows, a.lse ? HAS_LSE : 0),
    workgroups: decode ? [Tq, B * NH] : [Math.ceil(Tq / ROWS), B * NH],
  });
  opt.release();
  if (lseDummy) gpu.release(lseDummy);
}
