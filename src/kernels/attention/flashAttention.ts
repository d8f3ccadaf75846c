import type { Gpu } from '../runtime/device.js';
import { BLIND, HAS_MASK, HAS_SEG, kvBytes, LOWEST, maskFlags, optionalBindings, type AttentionInputs } from './masking.js';
import { Params } from '../runtime/params.js';
import { laneReduceWgsl, memoryBoundShape, shapeKey, subgroupsDirective } from '../runtime/streaming.js';

// Causal multi-head attention without the [B, NH, Tq, Tk] score tensor (flash attention: tiles of
// keys staged in workgroup memory, an online softmax per query row, the log-sum-exp kept for
// backward). q/out are [B, Tq, NH·HS] and k/v [B, kvRows, NH·HS], the projections' own layout, so
// head h of row t starts at element t·C + h·HS (C = NH·HS) and no transposes are needed.
//
// Masking as attention/masking.ts describes. The online softmax gets HF's uniform rows for free:
// its running max starts at LOWEST, so a row whose scores are all LOWEST weighs each key
// exp(0) = 1, while in a row with a visible key a hidden one weighs exp(LOWEST - max) = 0.
//
// Lanes own rows (a query row in forward and dQ, a key row in dK/dV) and keep that row, its
// accumulators and the tile's scores in registers; the other side's rows come from workgroup
// memory at addresses uniform across lanes, which lavapipe serves as broadcasts.

/** Query (or key) rows per workgroup: one per lane. */
const ROWS = 64;
// Up to this many query rows (decoding from a KV cache has one) the forward splits keys across
// lanes instead (decodeWgsl): with a lane per row, all but Tq lanes of a workgroup would idle.
const DECODE_MAX_ROWS = 8;
/** Workgroup memory budget for the staged tiles (lavapipe and most GPUs allow 32 KiB). */
const TILE_BYTES = 16384;

interface Spec {
  HS: number;
  /** rows of the other side staged per tile */
  tile: number;
  /** k and v storage (forward only; default 'f32') */
  kvDtype?: 'f32' | 'f16';
}

// Modes beside attention/masking.ts's mask flags, also runtime flags (one pipeline per head size).
const ACCUMULATE = 4;
const HAS_LSE = 8;

/** Rows staged per tile: two [tile, HS] f32 tiles in TILE_BYTES (32 rows at HS = 64), at most 32. */
function tileFor(HS: number): number {
  const t = Math.floor(TILE_BYTES / (2 * 16 * Math.ceil(HS / 4)));
  return Math.max(1, Math.min(32, t));
}

/**
 * WGSL shared by the kernels: vec4 access to one head's slice of a [rows, C] buffer. With HS a
 * multiple of 4 the buffers are vec4 arrays; otherwise f32 arrays read per element, the vec4's
 * components past HS reading (and writing) nothing, so dot products and updates stay exact.
 * Buffers named in `halves` hold packed f16 (u32 arrays): element e is half e % 2 of word e / 2,
 * and with HS a multiple of 4 (so C and every head's base are too) a vec4 is two whole words.
 */
function rowAccess(HS: number, reads: string[], writes: string[], halves: string[] = []): string {
  const HS4 = Math.ceil(HS / 4);
  const vec = HS % 4 === 0;
  const lines = [`const HS4 = ${HS4}u;`, `alias Row = array<vec4f, ${HS4}>;`];
  for (const name of reads) {
    const half = halves.includes(name);
    const element = half ? `unpack2x16float(${name}[e / 2u])[e % 2u]` : `${name}[e]`;
    lines.push(
      vec
        ? half
          ? `fn ld_${name}(base: u32, d: u32) -> vec4f { let w = base / 2u + 2u * d; return vec4f(unpack2x16float(${name}[w]), unpack2x16float(${name}[w + 1u])); }`
          : `fn ld_${name}(base: u32, d: u32) -> vec4f { return ${name}[base / 4u + d]; }`
        : `fn ld_${name}(base: u32, d: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) { if (4u * d + c < ${HS}u) { let e = base + 4u * d + c; r[c] = ${element}; } }
  return r;
}`,
    );
  }
  for (const name of writes) {
    lines.push(
      vec
        ? `fn st_${name}(base: u32, d: u32, v: vec4f, acc: bool) { let i = base / 4u + d; ${name}[i] = select(v, ${name}[i] + v, acc); }`
        : `fn st_${name}(base: u32, d: u32, v: vec4f, acc: bool) {
  for (var c = 0u; c < 4u; c++) {
    let i = base + 4u * d + c;
    if (4u * d + c < ${HS}u) { ${name}[i] = select(v[c], ${name}[i] + v[c], acc); }
  }
}`,
    );
  }
  return lines.join('\n');
}

/** Storage bindings in order, then the uniform params; returns the WGSL declarations. */
function bindings(list: [string, string, 'read' | 'read_write'][]): string {
  return list
    .map(([name, type, access], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: ${type};`)
    .concat(`@group(0) @binding(${list.length}) var<uniform> p: P;`)
    .join('\n');
}

const rowType = (HS: number) => (HS % 4 === 0 ? 'array<vec4f>' : 'array<f32>');
const kvType = (HS: number, kvDtype: 'f32' | 'f16') => (kvDtype === 'f16' ? 'array<u32>' : rowType(HS));

// Every kernel ends its storage bindings with the optional mask and segments (optionalBindings).
const MASK_AND_SEGMENTS: [string, string, 'read'][] = [['mask', 'array<u32>', 'read'], ['seg', 'array<u32>', 'read']];

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

// Params shared by all kernels. qOff = Tk - Tq: query i sits at absolute position i + qOff.
const PARAMS = `struct P { Tq: u32, Tk: u32, kvRows: u32, NH: u32, C: u32, qOff: u32, scale: f32, invTk: f32, flags: u32 }`;

/**
 * WGSL that stages keys kt..kt+BK of (b, h) into workgroup memory (kT, vT, and the keys' mask and
 * segment), `lanes` lanes striding over the tile; forward and dQ both walk key tiles this way.
 * `wide`: k and v are packed f16 bound as vec4u (HS % 8 == 0, so every head's row starts on one),
 * eight halves per load (prefill from an f16 KV cache).
 */
function stageKeyTile(BK: number, HS: number, lanes: number, wide = false): string {
  const loads = wide
    ? `for (var e = lid; e < ${BK}u * HS4 / 2u; e += ${lanes}u) {
    let jj = e / (HS4 / 2u);
    let d = e % (HS4 / 2u);
    let j = kt + jj;
    let w = ((b * p.kvRows + j) * p.C + h * ${HS}u) / 8u + d;
    let kw = select(vec4u(0u), k[w], j < p.Tk);
    let vw = select(vec4u(0u), v[w], j < p.Tk);
    kT[jj][2u * d] = vec4f(unpack2x16float(kw.x), unpack2x16float(kw.y));
    kT[jj][2u * d + 1u] = vec4f(unpack2x16float(kw.z), unpack2x16float(kw.w));
    vT[jj][2u * d] = vec4f(unpack2x16float(vw.x), unpack2x16float(vw.y));
    vT[jj][2u * d + 1u] = vec4f(unpack2x16float(vw.z), unpack2x16float(vw.w));
  }`
    : `for (var e = lid; e < ${BK}u * HS4; e += ${lanes}u) {
    let jj = e / HS4;
    let d = e % HS4;
    let j = kt + jj;
    let base = (b * p.kvRows + j) * p.C + h * ${HS}u;
    kT[jj][d] = select(vec4f(0.0), ld_k(base, d), j < p.Tk);
    vT[jj][d] = select(vec4f(0.0), ld_v(base, d), j < p.Tk);
  }`;
  return `  workgroupBarrier();
  ${loads}
  for (var jj = lid; jj < ${BK}u; jj += ${lanes}u) {
    let j = kt + jj;
    keyOk[jj] = select(1u, mask[b * p.kvRows + j], (p.flags & ${HAS_MASK}u) != 0u);
    keySeg[jj] = select(0u, seg[b * p.Tk + j], (p.flags & ${HAS_SEG}u) != 0u);
  }
  workgroupBarrier();`;
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
 * by the usual rescaling. Every lane works, where a lane per query row left all but one idle: at
 * B=1, NH=16, HS=64, Tk=512 (bench/other.ts --only attentionDecode) a call took 4.6 ms that way.
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

function params(a: AttentionInputs, Tq: number, Tk: number, kvRows: number, extraFlags: number): Uint8Array {
  const flags = maskFlags(a) | extraFlags;
  return new Params().u32(Tq).u32(Tk).u32(kvRows).u32(a.NH).u32(a.NH * a.HS).u32(Tk - Tq).f32(a.scale).f32(1 / Tk).u32(flags).bytes();
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

fn queryTile(it: u32, b: u32, h: u32, lid: u32, j: u32, keyOk: bool, segJ: u32) {
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
}

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
