import { HAS_MASK, HAS_SEG, maskFlags, type AttentionInputs } from './masking.js';
import { Params } from '../runtime/params.js';

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
//
// This file holds what both passes share (flashAttentionForward.ts, flashAttentionBackward.ts):
// rows per workgroup, tile sizes, the params, and the WGSL that reads rows and stages key tiles.

/** Query (or key) rows per workgroup: one per lane. */
export const ROWS = 64;
/** Workgroup memory budget for the staged tiles (lavapipe and most GPUs allow 32 KiB). */
const TILE_BYTES = 16384;

export interface Spec {
  HS: number;
  /** rows of the other side staged per tile */
  tile: number;
  /** k and v storage (forward only; default 'f32') */
  kvDtype?: 'f32' | 'f16';
}

// Modes beside attention/masking.ts's mask flags, also runtime flags (one pipeline per head size).
export const ACCUMULATE = 4;
export const HAS_LSE = 8;

/** Rows staged per tile: two [tile, HS] f32 tiles in TILE_BYTES (32 rows at HS = 64), at most 32. */
export function tileFor(HS: number): number {
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
export function rowAccess(HS: number, reads: string[], writes: string[], halves: string[] = []): string {
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
export function bindings(list: [string, string, 'read' | 'read_write'][]): string {
  return list
    .map(([name, type, access], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${name}: ${type};`)
    .concat(`@group(0) @binding(${list.length}) var<uniform> p: P;`)
    .join('\n');
}

export const rowType = (HS: number) => (HS % 4 === 0 ? 'array<vec4f>' : 'array<f32>');

// Every kernel ends its storage bindings with the optional mask and segments (optionalBindings).
export const MASK_AND_SEGMENTS: [string, string, 'read'][] = [['mask', 'array<u32>', 'read'], ['seg', 'array<u32>', 'read']];

// Params shared by all kernels. qOff = Tk - Tq: query i sits at absolute position i + qOff.
export const PARAMS = `struct P { Tq: u32, Tk: u32, kvRows: u32, NH: u32, C: u32, qOff: u32, scale: f32, invTk: f32, flags: u32 }`;

/**
 * WGSL that stages keys kt..kt+BK of (b, h) into workgroup memory (kT, vT, and the keys' mask and
 * segment), `lanes` lanes striding over the tile; forward and dQ both walk key tiles this way.
 * `wide`: k and v are packed f16 bound as vec4u (HS % 8 == 0, so every head's row starts on one),
 * eight halves per load (prefill from an f16 KV cache).
 */
export function stageKeyTile(BK: number, HS: number, lanes: number, wide = false): string {
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

export function params(a: AttentionInputs, Tq: number, Tk: number, kvRows: number, extraFlags: number): Uint8Array {
  const flags = maskFlags(a) | extraFlags;
  return new Params().u32(Tq).u32(Tk).u32(kvRows).u32(a.NH).u32(a.NH * a.HS).u32(Tk - Tq).f32(a.scale).f32(1 / Tk).u32(flags).bytes();
}
