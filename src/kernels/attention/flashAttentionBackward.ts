import type { Gpu } from '../runtime/device.js';
import { BLIND, HAS_MASK, HAS_SEG, optionalBindings, type AttentionInputs } from './masking.js';
import { ACCUMULATE, bindings, MASK_AND_SEGMENTS, PARAMS, params, ROWS, rowAccess, rowType, stageKeyTile, tileFor, type Spec } from './flashAttentionLayout.js';

// Flash attention's backward (the layout: flashAttentionLayout.ts): the row dots D, then dQ with
// lanes owning query rows and dK, dV with lanes owning key rows, from the forward's lse.

/** The backward kernels' bindings: q, k, v, dOut, the forward's lse, D, then `outputs`, mask, segments. */
function backwardBindings(HS: number, outputs: string[]): string {
  return bindings([
    ['q', rowType(HS), 'read'],
    ['k', rowType(HS), 'read'],
    ['v', rowType(HS), 'read'],
    ['dOut', rowType(HS), 'read'],
    ['lseIn', 'array<f32>', 'read'],
    ['D', 'array<f32>', 'read'],
    ...outputs.map((name): [string, string, 'read_write'] => [name, rowType(HS), 'read_write']),
    ...MASK_AND_SEGMENTS,
  ]);
}

// Di = dOutᵢ·outᵢ (= Σⱼ Pᵢⱼ·dPᵢⱼ, the softmax backward's row term), one lane per row.
function rowDotWgsl(HS: number): string {
  return /* wgsl */ `
${PARAMS}
${bindings([['out', rowType(HS), 'read'], ['dOut', rowType(HS), 'read'], ['D', 'array<f32>', 'read_write']])}
${rowAccess(HS, ['out', 'dOut'], [])}
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * ${ROWS}u + lid;
  if (i >= p.Tq) { return; }
  let base = ((wid.y / p.NH) * p.Tq + i) * p.C + (wid.y % p.NH) * ${HS}u;
  var s = 0.0;
  for (var d = 0u; d < HS4; d++) { s += dot(ld_out(base, d), ld_dOut(base, d)); }
  D[wid.y * p.Tq + i] = s;
}`;
}

// dQᵢ = scale·Σⱼ Pᵢⱼ(dPᵢⱼ - Dᵢ)·kⱼ with dPᵢⱼ = dOutᵢ·vⱼ: lanes own query rows and loop over key
// tiles up to the causal bound, as the forward does.
function dQWgsl(s: Spec): string {
  const { HS, tile: BK } = s;
  return /* wgsl */ `
${PARAMS}
${backwardBindings(HS, ['dQ'])}
${rowAccess(HS, ['q', 'k', 'v', 'dOut'], ['dQ'])}
var<workgroup> kT: array<Row, ${BK}>;
var<workgroup> vT: array<Row, ${BK}>;
var<workgroup> keyOk: array<u32, ${BK}>;
var<workgroup> keySeg: array<u32, ${BK}>;
var<private> qi: Row;
var<private> dOi: Row;
var<private> dq: Row;

fn keyTile(kt: u32, b: u32, h: u32, lid: u32, pos: u32, segI: u32, lse: f32, Di: f32) {
${stageKeyTile(BK, HS, ROWS)}
  let blind = ${BLIND};
  for (var jj = 0u; jj < min(${BK}u, p.Tk - kt); jj++) {
    var qk = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < HS4; d++) { qk += dot(qi[d], kT[jj][d]); dp += dot(dOi[d], vT[jj][d]); }
    let visible = kt + jj <= pos && keyOk[jj] != 0u && keySeg[jj] == segI && !blind;
    // A row that saw no key attended uniformly (P = 1/Tk) to every key: HF's autograd passes
    // dS = P(dP - D) through the mask add, so q and k get gradient from it too.
    let pr = select(select(0.0, exp(qk * p.scale - lse), visible), p.invTk, blind);
    let ds = pr * (dp - Di);
    for (var d = 0u; d < HS4; d++) { dq[d] += ds * kT[jj][d]; }
  }
}

@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let q0 = wid.x * ${ROWS}u;
  let i = q0 + lid;
  let iq = min(i, p.Tq - 1u);
  let pos = iq + p.qOff;
  let base = (b * p.Tq + iq) * p.C + h * ${HS}u;
  for (var d = 0u; d < HS4; d++) { qi[d] = ld_q(base, d); dOi[d] = ld_dOut(base, d); dq[d] = vec4f(0.0); }
  let lse = lseIn[wid.y * p.Tq + iq];
  let Di = D[wid.y * p.Tq + iq];
  let segI = select(0u, seg[b * p.Tk + pos], (p.flags & ${HAS_SEG}u) != 0u);
  // Rows that saw no key read every key, past the causal bound.
  let kEnd = select(min(p.Tk, min(q0 + ${ROWS}u, p.Tq) + p.qOff), p.Tk, (p.flags & ${HAS_MASK}u) != 0u);
  for (var kt = 0u; kt < kEnd; kt += ${BK}u) { keyTile(kt, b, h, lid, pos, segI, lse, Di); }
  if (i >= p.Tq) { return; }
  let acc = (p.flags & ${ACCUMULATE}u) != 0u;
  for (var d = 0u; d < HS4; d++) { st_dQ(base, d, dq[d] * p.scale, acc); }
}`;
}
// One tile of BQ query rows for dKVWgsl: staged in workgroup memory with their lse, D, mask and
// segment, then folded into each lane's key row.
function queryTileWgsl(HS: number, BQ: number): string {
  return /* wgsl */ `fn queryTile(it: u32, b: u32, h: u32, lid: u32, j: u32, keyOk: bool, segJ: u32) {
  workgroupBarrier();
  for (var e = lid; e < ${BQ}u * HS4; e += ${ROWS}u) {
    let ii = e / HS4;
    let d = e % HS4;
    let i = it + ii;
    let base = (b * p.Tq + i) * p.C + h * ${HS}u;
    qT[ii][d] = select(vec4f(0.0), ld_q(base, d), i < p.Tq);
    dOT[ii][d] = select(vec4f(0.0), ld_dOut(base, d), i < p.Tq);
  }
  for (var ii = lid; ii < ${BQ}u; ii += ${ROWS}u) {
    let i = it + ii;
    let r = (b * p.NH + h) * p.Tq + min(i, p.Tq - 1u);
    let lse = lseIn[r];
    lseT[ii] = lse;
    DT[ii] = D[r];
    qOk[ii] = select(0u, 1u, i < p.Tq && !(${BLIND}));
    qSeg[ii] = select(0u, seg[b * p.Tk + min(i, p.Tq - 1u) + p.qOff], (p.flags & ${HAS_SEG}u) != 0u);
  }
  workgroupBarrier();
  for (var ii = 0u; ii < min(${BQ}u, p.Tq - it); ii++) {
    var qk = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < HS4; d++) { qk += dot(qT[ii][d], kj[d]); dp += dot(dOT[ii][d], vj[d]); }
    let visible = j <= it + ii + p.qOff && keyOk && qOk[ii] != 0u && qSeg[ii] == segJ;
    let pr = select(0.0, exp(qk * p.scale - lseT[ii]), visible);
    let ds = pr * (dp - DT[ii]);
    for (var d = 0u; d < HS4; d++) { dv[d] += pr * dOT[ii][d]; dk[d] += ds * qT[ii][d]; }
  }
}`;
}

// dVⱼ = Σᵢ Pᵢⱼ·dOutᵢ and dKⱼ = scale·Σᵢ Pᵢⱼ(dPᵢⱼ - Dᵢ)·qᵢ: lanes own key rows and loop over query
// tiles from the first query that can see the workgroup's first key. Each key then also gets
// dOutᵢ/Tk in dV and (dPᵢⱼ - Dᵢ)/Tk·qᵢ in dK from every row i that saw no key (those rows
// attended uniformly to all keys).
function dKVWgsl(s: Spec): string {
  const { HS, tile: BQ } = s;
  return /* wgsl */ `
${PARAMS}
${backwardBindings(HS, ['dK', 'dV'])}
${rowAccess(HS, ['q', 'k', 'v', 'dOut'], ['dK', 'dV'])}
var<workgroup> qT: array<Row, ${BQ}>;
var<workgroup> dOT: array<Row, ${BQ}>;
var<workgroup> lseT: array<f32, ${BQ}>;
var<workgroup> DT: array<f32, ${BQ}>;
var<workgroup> qOk: array<u32, ${BQ}>;
var<workgroup> qSeg: array<u32, ${BQ}>;
var<private> kj: Row;
var<private> vj: Row;
var<private> dk: Row;
var<private> dv: Row;

${queryTileWgsl(HS, BQ)}

@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let j0 = wid.x * ${ROWS}u;
  let j = j0 + lid;
  let jk = min(j, p.Tk - 1u);
  let base = (b * p.kvRows + jk) * p.C + h * ${HS}u;
  for (var d = 0u; d < HS4; d++) { kj[d] = ld_k(base, d); vj[d] = ld_v(base, d); dk[d] = vec4f(0.0); dv[d] = vec4f(0.0); }
  let keyOk = (p.flags & ${HAS_MASK}u) == 0u || mask[b * p.kvRows + jk] != 0u;
  let segJ = select(0u, seg[b * p.Tk + jk], (p.flags & ${HAS_SEG}u) != 0u);
  // Query i (position i + qOff) sees key j only if j <= i + qOff.
  let iStart = select(0u, j0 - p.qOff, j0 > p.qOff);
  for (var it = iStart; it < p.Tq; it += ${BQ}u) { queryTile(it, b, h, lid, j, keyOk, segJ); }
  // Rows that saw no key: lse is read at an address uniform over the workgroup, so the branch is too.
  for (var i = 0u; i < p.Tq; i++) {
    let lse = lseIn[wid.y * p.Tq + i];
    if (${BLIND}) {
      let ib = (b * p.Tq + i) * p.C + h * ${HS}u;
      var dp = 0.0;
      for (var d = 0u; d < HS4; d++) { dp += dot(ld_dOut(ib, d), vj[d]); }
      let ds = p.invTk * (dp - D[wid.y * p.Tq + i]);
      for (var d = 0u; d < HS4; d++) { dv[d] += p.invTk * ld_dOut(ib, d); dk[d] += ds * ld_q(ib, d); }
    }
  }
  if (j >= p.Tk) { return; }
  let acc = (p.flags & ${ACCUMULATE}u) != 0u;
  for (var d = 0u; d < HS4; d++) {
    st_dK(base, d, dk[d] * p.scale, acc);
    st_dV(base, d, dv[d], acc);
  }
}`;
}

/** D [B, NH, T] = the row dots dOut·out per head: the softmax backward's row term, for both variants. */
export function attentionRowDot(gpu: Gpu, a: AttentionInputs & { out: GPUBuffer; dOut: GPUBuffer; D: GPUBuffer; T: number }): void {
  const { B, NH, HS, T } = a;
  const rows = { size: B * T * NH * HS * 4 };
  gpu.dispatch({
    kernel: `attentionRowDot(B=${B},NH=${NH},HS=${HS},T=${T})`,
    pipeline: gpu.pipeline('attentionRowDot', rowDotWgsl(HS)),
    bindings: [{ buffer: a.out, ...rows }, { buffer: a.dOut, ...rows }, { buffer: a.D, size: B * NH * T * 4 }],
    params: params(a, T, T, T, 0),
    workgroups: [Math.ceil(T / ROWS), B * NH],
  });
}

/** attentionBackward (attention.ts) by flash attention, shapes already checked. */
export function flashAttentionBackward(
  gpu: Gpu,
  a: AttentionInputs & { out: GPUBuffer; lse: GPUBuffer; dOut: GPUBuffer; dQ: GPUBuffer; dK: GPUBuffer; dV: GPUBuffer; T: number; accumulate?: boolean },
): void {
  const { B, NH, HS, T } = a;
  const acc = a.accumulate ?? false;
  const C = NH * HS;
  const rows = { size: B * T * C * 4 };
  const spec: Spec = { HS, tile: tileFor(HS) };
  const shape = `B=${B},NH=${NH},HS=${HS},T=${T}`;
  const prm = params(a, T, T, T, acc ? ACCUMULATE : 0);
  const wg: [number, number] = [Math.ceil(T / ROWS), B * NH];
  const D = gpu.alloc(B * NH * T * 4, 'attention-D');
  const Dbind = { buffer: D, size: B * NH * T * 4 };
  attentionRowDot(gpu, { ...a, D });
  const opt = optionalBindings(gpu, a, T, T);
  const inputs = [
    { buffer: a.q, ...rows },
    { buffer: a.k, ...rows },
    { buffer: a.v, ...rows },
    { buffer: a.dOut, ...rows },
    { buffer: a.lse, size: B * NH * T * 4 },
    Dbind,
  ];
  gpu.dispatch({
    kernel: `attentionFlashBackwardDQ(${shape})`,
    pipeline: gpu.pipeline('attentionBackwardDQ', dQWgsl(spec)),
    bindings: [...inputs, { buffer: a.dQ, ...rows }, ...opt.list],
    params: prm,
    workgroups: wg,
  });
  gpu.dispatch({
    kernel: `attentionFlashBackwardDKV(${shape})`,
    pipeline: gpu.pipeline('attentionBackwardDKV', dKVWgsl(spec)),
    bindings: [...inputs, { buffer: a.dK, ...rows }, { buffer: a.dV, ...rows }, ...opt.list],
    params: prm,
    workgroups: wg,
  });
  gpu.release(D);
  opt.release();
}
