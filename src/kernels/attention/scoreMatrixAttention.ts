import type { Gpu } from '../runtime/device.js';
import { attentionRowDot } from './flashAttentionBackward.js';
import { BLIND, HAS_MASK, HAS_SEG, LOWEST, maskFlags, optionalBindings, type AttentionInputs } from './masking.js';
import { fromHeads, padded, toHeads, type HeadSlice } from './headLayout.js';
import { matmul } from '../matmul/matmul.js';
import { Params } from '../runtime/params.js';

// Attention through the [heads, Tq, Tk] score matrix, built from batched matmuls: on lavapipe the
// subgroup matmul runs ~10x more FLOP/s than the flash kernels' lane-per-row loops, which more
// than pays for computing hidden scores (all of the causal half when a mask rules out the
// skipping below) and for moving the heads into packed, head-major copies (headLayout.ts). The
// scores of a chunk of heads at a time live in a scratch buffer within SCORE_BUDGET.
//
// forward:  S = scale·Q·Kᵀ, P = masked row softmax of S (in place, with the lse), O = P·V
// backward: S and dP = dO·Vᵀ, then in one pass P (recomputed from the saved lse) and
//           dS = P⊙(dP - D); dV = Pᵀ·dO, dQ = scale·dS·K, dK = scale·dSᵀ·Q
//
// Causal skipping: the query rows are split into blocks, and block r's products run only over
// the keys its last row can see, so about half the score matrix is never formed. This needs every
// row to see some key: a row that sees none attends to all Tk keys (attention/masking.ts). Without
// a padding mask every row sees itself; with one, blocks are used when the caller vouches that
// every row sees a key (everyRowSeesAKey: right-padded training batches), and otherwise one block
// spans all rows and keys.

/** Bytes of score scratch (all of a chunk's score matrices together) per call. */
const SCORE_BUDGET = 64 * 1024 * 1024;

/** Query rows per softmax workgroup, one per lane. */
const ROWS = 64;
/**
 * Most query blocks for causal skipping: more skip more of the scores but make more, smaller
 * matmuls; 8 (of 64 rows, the smallest) ran as fast as 4 and far faster than one
 * (docs/lavapipe-speed.md, "Attention: which variant runs").
 */
const MAX_BLOCKS = 8;
/** Keys whose mask and segment are staged in workgroup memory at a time. */
const KEY_TILE = 256;

const HAS_LSE = 4;

/**
 * Heads per chunk when each head needs `matrices` [Tq, Tk] score matrices, 0 if a single head's
 * do not fit the budget or the device's largest binding.
 */
export function scoreHeadsPerChunk(gpu: Gpu, Tq: number, Tk: number, matrices: number): number {
  const perHead = padded(Tq) * padded(Tk) * 4;
  return Math.floor(Math.min(SCORE_BUDGET / matrices, gpu.limits.maxStorageBufferBindingSize) / perHead);
}

/**
 * Rows [row0, row0 + rows) of each head's scores against keys [0, width), stored per chunk of
 * `heads` heads at element heads·before, as [heads, rows, width].
 */
interface ScoreBlock {
  row0: number;
  rows: number;
  width: number;
  before: number;
}

/** Query rows per block: a multiple of ROWS (a softmax workgroup stays in one block), or all Tqp rows. */
function blockRows(a: AttentionInputs, Tq: number, Tk: number): number {
  const Tqp = padded(Tq);
  if ((a.mask && !a.everyRowSeesAKey) || Tq !== Tk) return Tqp;
  return Math.min(Tqp, Math.ceil(Tqp / MAX_BLOCKS / ROWS) * ROWS);
}

/** The blocks of R query rows: block r sees keys up to its last row, the last block all of them. */
function scoreBlocks(Tqp: number, Tkp: number, R: number): ScoreBlock[] {
  const blocks: ScoreBlock[] = [];
  let before = 0;
  for (let row0 = 0; row0 < Tqp; row0 += R) {
    const rows = Math.min(R, Tqp - row0);
    const width = row0 + R >= Tqp ? Tkp : row0 + R;
    blocks.push({ row0, rows, width, before });
    before += rows * width;
  }
  return blocks;
}

const scoreElements = (blocks: ScoreBlock[]) => blocks.reduce((n, b) => n + b.rows * b.width, 0);

/** Where a block's scores of a chunk of `heads` heads sit, as a batched matmul operand (elements). */
const blockOperand = (bl: ScoreBlock, heads: number) => ({ offset: heads * bl.before, stride: bl.rows * bl.width });

const PARAMS = `struct P { Tq: u32, Tk: u32, Tqp: u32, Tkp: u32, kvRows: u32, NH: u32, qOff: u32, head0: u32, heads: u32, R: u32, invTk: f32, flags: u32 }`;

function params(a: AttentionInputs, Tq: number, Tk: number, kvRows: number, head0: number, heads: number, R: number, flags: number): Uint8Array {
  return new Params()
    .u32(Tq).u32(Tk).u32(padded(Tq)).u32(padded(Tk)).u32(kvRows).u32(a.NH).u32(Tk - Tq).u32(head0).u32(heads).u32(R)
    .f32(1 / Tk).u32(maskFlags(a) | flags)
    .bytes();
}

// Lanes own query rows (i of head head0 + wid.y, at absolute position pos = i + qOff) and walk
// their row of scores in vec4s, `width` keys long (its block's: see ScoreBlock, whose `before`
// for block r is R·R·r(r+1)/2, all earlier blocks being full); rows of padding (Tq <= i < Tqp) are
// written as zeros. A workgroup's rows lie in one block, so the loops stay uniform. Whether a
// key is visible comes from the key tile's mask and segment, staged in workgroup memory and read
// at addresses uniform across lanes (lavapipe serves them as broadcasts, where a storage load
// would loop over the lanes).
const rowSetup = /* wgsl */ `
  let g = p.head0 + wid.y;
  let b = g / p.NH;
  let i0 = wid.x * ${ROWS}u;
  let i = i0 + lid;
  let live = i < p.Tq;
  let pos = min(i, p.Tq - 1u) + p.qOff;
  let segI = select(0u, seg[b * p.Tk + pos], (p.flags & ${HAS_SEG}u) != 0u);
  let blk = i0 / p.R;
  let width = select((blk + 1u) * p.R, p.Tkp, (blk + 1u) * p.R >= p.Tqp);
  let blkRows = min(p.R, p.Tqp - blk * p.R);
  let row = (p.heads * p.R * p.R * (blk * (blk + 1u) / 2u) + (wid.y * blkRows + min(i, p.Tqp - 1u) - blk * p.R) * width) / 4u;
  let stored = i < p.Tqp;
  let masked = (p.flags & ${HAS_MASK | HAS_SEG}u) != 0u;
  // No key after the workgroup's last query position is visible to any of its rows.
  let kEnd = min(p.Tk, min(i0 + ${ROWS}u, p.Tq) + p.qOff);`;

const keyVisibility = /* wgsl */ `
const LOWEST = ${LOWEST};
var<workgroup> keyOk: array<u32, ${KEY_TILE}>;
var<workgroup> keySeg: array<u32, ${KEY_TILE}>;

fn stageKeys(kt: u32, b: u32, lid: u32) {
  workgroupBarrier();
  for (var jj = lid; jj < ${KEY_TILE}u; jj += ${ROWS}u) {
    let j = min(kt + jj, p.Tk - 1u);
    keyOk[jj] = select(1u, mask[b * p.kvRows + j], (p.flags & ${HAS_MASK}u) != 0u);
    keySeg[jj] = select(0u, seg[b * p.Tk + j], (p.flags & ${HAS_SEG}u) != 0u);
  }
  workgroupBarrier();
}

// Scores j..j+3 of the row, hidden ones replaced by LOWEST (keys from kt staged).
fn hide(s: vec4f, j: u32, kt: u32, pos: u32, segI: u32, masked: bool) -> vec4f {
  var r = s;
  for (var c = 0u; c < 4u; c++) {
    let jc = j + c;
    let visible = jc <= pos && (!masked || (keyOk[jc - kt] != 0u && keySeg[jc - kt] == segI));
    r[c] = select(LOWEST, s[c], visible);
  }
  return r;
}

// A row that saw no key attends uniformly to the Tk real keys (not to the padding past Tk).
fn uniformRow(j: u32) -> vec4f {
  return select(vec4f(0.0), vec4f(p.invTk), vec4u(j) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.Tk));
}`;

function optionalDecls(first: number): string {
  return `@group(0) @binding(${first}) var<storage, read> mask: array<u32>;
@group(0) @binding(${first + 1}) var<storage, read> seg: array<u32>;
@group(0) @binding(${first + 2}) var<uniform> p: P;`;
}

// Two passes over each row: an online max and sum up to the row's causal bound (the rescale only
// when the max grows; hidden scores add exp(LOWEST - max) = 0 once any key was seen), then P
// written over the row (its block's width, padding included), computed only where a key can be visible.
const softmaxWgsl = /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read_write> S: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
${optionalDecls(2)}
${keyVisibility}

@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${rowSetup}
  var m = LOWEST;
  var l = 0.0;
  for (var kt = 0u; kt < kEnd; kt += ${KEY_TILE}u) {
    if (masked) { stageKeys(kt, b, lid); }
    for (var j = kt; j < min(kt + ${KEY_TILE}u, kEnd); j += 4u) {
      let s = hide(S[row + j / 4u], j, kt, pos, segI, masked);
      let mx = max(max(s.x, s.y), max(s.z, s.w));
      if (mx > m) {
        l *= exp(m - mx);
        m = mx;
      }
      l += dot(exp(s - vec4f(m)), vec4f(1.0));
    }
  }
  let blind = m == LOWEST;
  let rowLse = m + log(l);
  if (live && (p.flags & ${HAS_LSE}u) != 0u) { lse[g * p.Tq + i] = rowLse; }
  for (var kt = 0u; kt < width; kt += ${KEY_TILE}u) {
    if (masked && kt < kEnd) { stageKeys(kt, b, lid); }
    for (var j = kt; j < min(kt + ${KEY_TILE}u, width); j += 4u) {
      var pr = vec4f(0.0);
      if (blind) {
        pr = uniformRow(j);
      } else if (j <= pos) {
        pr = exp(hide(S[row + j / 4u], j, kt, pos, segI, masked) - vec4f(rowLse));
      }
      if (stored) { S[row + j / 4u] = select(vec4f(0.0), pr, live); }
    }
  }
}`;

// One pass per row: P from the scores and the saved lse, and dS = P⊙(dP - D), written over the
// scores and dP.
const softmaxBackwardWgsl = /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read_write> S: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dP: array<vec4f>;
@group(0) @binding(2) var<storage, read> lseIn: array<f32>;
@group(0) @binding(3) var<storage, read> D: array<f32>;
${optionalDecls(4)}
${keyVisibility}

@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${rowSetup}
  let r = g * p.Tq + min(i, p.Tq - 1u);
  let lse = lseIn[r];
  let Di = D[r];
  let blind = ${BLIND};
  for (var kt = 0u; kt < width; kt += ${KEY_TILE}u) {
    if (masked && kt < kEnd) { stageKeys(kt, b, lid); }
    for (var j = kt; j < min(kt + ${KEY_TILE}u, width); j += 4u) {
      var pr = vec4f(0.0);
      var ds = vec4f(0.0);
      if (blind) {
        pr = uniformRow(j);
        ds = pr * (dP[row + j / 4u] - vec4f(Di));
      } else if (j <= pos) {
        pr = exp(hide(S[row + j / 4u], j, kt, pos, segI, masked) - vec4f(lse));
        ds = pr * (dP[row + j / 4u] - vec4f(Di));
      }
      if (stored) {
        S[row + j / 4u] = select(vec4f(0.0), pr, live);
        dP[row + j / 4u] = select(vec4f(0.0), ds, live);
      }
    }
  }
}`;

/** attentionForward (attention.ts) through score matrices; `chunk` heads at a time (scoreHeadsPerChunk). */
export function scoresAttentionForward(
  gpu: Gpu,
  a: AttentionInputs & { out: GPUBuffer; lse?: GPUBuffer; Tq: number; Tk: number; kvRows: number; chunk: number },
): void {
  const { B, NH, HS, Tq, Tk, kvRows, chunk } = a;
  const [Tqp, Tkp, HSp] = [padded(Tq), padded(Tk), padded(HS)];
  const R = blockRows(a, Tq, Tk);
  const blocks = scoreBlocks(Tqp, Tkp, R);
  const heads = B * NH;
  const Qh = gpu.alloc(chunk * Tqp * HSp * 4, 'attention-q-heads');
  const Kh = gpu.alloc(chunk * Tkp * HSp * 4, 'attention-k-heads');
  const Vh = gpu.alloc(chunk * Tkp * HSp * 4, 'attention-v-heads');
  const S = gpu.alloc(chunk * scoreElements(blocks) * 4, 'attention-scores');
  const opt = optionalBindings(gpu, a, kvRows, Tk);
  const lseDummy = a.lse ? null : gpu.alloc(16, 'attention-unused');
  const pipeline = gpu.pipeline('attentionSoftmax', softmaxWgsl);
  for (let head0 = 0; head0 < heads; head0 += chunk) {
    const n = Math.min(chunk, heads - head0);
    const slice = { B, NH, HS, head0, count: n };
    const queries: Omit<HeadSlice, 'tensor' | 'heads'> = { ...slice, rows: Tq, T: Tq };
    toHeads(gpu, { ...queries, tensor: a.q, heads: Qh });
    // f16 k and v are widened here, in the copy the matmuls need anyway.
    const keys = { ...slice, rows: kvRows, T: Tk, dtype: a.kvDtype };
    toHeads(gpu, { ...keys, tensor: a.k, heads: Kh });
    toHeads(gpu, { ...keys, tensor: a.v, heads: Vh });
    for (const bl of blocks) {
      const sc = blockOperand(bl, n);
      matmul(gpu, { a: Qh, b: Kh, c: S, M: bl.rows, N: bl.width, K: HSp, layout: 'nt', batch: n, offsetA: bl.row0 * HSp, strideA: Tqp * HSp, strideB: Tkp * HSp, offsetC: sc.offset, strideC: sc.stride, alpha: a.scale });
    }
    gpu.dispatch({
      kernel: `attentionSoftmax(heads=${n},Tq=${Tq},Tk=${Tk},R=${R})`,
      pipeline,
      bindings: [
        { buffer: S, size: n * scoreElements(blocks) * 4 },
        a.lse ? { buffer: a.lse, size: heads * Tq * 4 } : { buffer: lseDummy!, size: 16 },
        ...opt.list,
      ],
      params: params(a, Tq, Tk, kvRows, head0, n, R, a.lse ? HAS_LSE : 0),
      workgroups: [Math.ceil(Tqp / ROWS), n],
    });
    // O = P·V, into Q's copy (Q is no longer needed).
    for (const bl of blocks) {
      const sc = blockOperand(bl, n);
      matmul(gpu, { a: S, b: Vh, c: Qh, M: bl.rows, N: HSp, K: bl.width, batch: n, offsetA: sc.offset, strideA: sc.stride, strideB: Tkp * HSp, offsetC: bl.row0 * HSp, strideC: Tqp * HSp });
    }
    fromHeads(gpu, { ...queries, tensor: a.out, heads: Qh });
  }
  for (const buf of [Qh, Kh, Vh, S]) gpu.release(buf);
  opt.release();
  if (lseDummy) gpu.release(lseDummy);
}

/** attentionBackward (attention.ts) through score matrices; `chunk` heads at a time (scoreHeadsPerChunk). */
export function scoresAttentionBackward(
  gpu: Gpu,
  a: AttentionInputs & { out: GPUBuffer; lse: GPUBuffer; dOut: GPUBuffer; dQ: GPUBuffer; dK: GPUBuffer; dV: GPUBuffer; T: number; accumulate?: boolean; chunk: number },
): void {
  const { B, NH, HS, T, chunk, scale } = a;
  const accumulate = a.accumulate ?? false;
  const [Tp, HSp] = [padded(T), padded(HS)];
  const R = blockRows(a, T, T);
  const blocks = scoreBlocks(Tp, Tp, R);
  const last = blocks[blocks.length - 1];
  const heads = B * NH;
  const D = gpu.alloc(heads * T * 4, 'attention-D');
  attentionRowDot(gpu, { ...a, D });
  // Four head-major copies, each reused for a gradient once its input is spent: V's for dV, dO's
  // for dQ, K's for dK.
  const [Qh, Kh, Vh, dOh] = ['q', 'k', 'v', 'dOut'].map((name) => gpu.alloc(chunk * Tp * HSp * 4, `attention-${name}-heads`));
  const S = gpu.alloc(chunk * scoreElements(blocks) * 4, 'attention-scores');
  const dP = gpu.alloc(chunk * scoreElements(blocks) * 4, 'attention-dP');
  const opt = optionalBindings(gpu, a, T, T);
  const pipeline = gpu.pipeline('attentionSoftmaxBackward', softmaxBackwardWgsl);
  for (let head0 = 0; head0 < heads; head0 += chunk) {
    const n = Math.min(chunk, heads - head0);
    const slice = { B, NH, HS, head0, count: n, rows: T, T };
    toHeads(gpu, { ...slice, tensor: a.q, heads: Qh });
    toHeads(gpu, { ...slice, tensor: a.k, heads: Kh });
    toHeads(gpu, { ...slice, tensor: a.v, heads: Vh });
    toHeads(gpu, { ...slice, tensor: a.dOut, heads: dOh });
    // In every product, one operand is a block's [rows, width] scores, the other rows of the
    // head-major copies (strided by a head's Tp·HSp).
    for (const bl of blocks) {
      const sc = blockOperand(bl, n);
      const rows = { offsetA: bl.row0 * HSp, strideA: Tp * HSp, strideB: Tp * HSp, offsetC: sc.offset, strideC: sc.stride, M: bl.rows, N: bl.width, K: HSp, layout: 'nt' as const, batch: n };
      matmul(gpu, { a: Qh, b: Kh, c: S, ...rows, alpha: scale });
      matmul(gpu, { a: dOh, b: Vh, c: dP, ...rows });
    }
    gpu.dispatch({
      kernel: `attentionSoftmaxBackward(heads=${n},T=${T},R=${R})`,
      pipeline,
      bindings: [
        { buffer: S, size: n * scoreElements(blocks) * 4 },
        { buffer: dP, size: n * scoreElements(blocks) * 4 },
        { buffer: a.lse, size: heads * T * 4 },
        { buffer: D, size: heads * T * 4 },
        ...opt.list,
      ],
      params: params(a, T, T, T, head0, n, R, 0),
      workgroups: [Math.ceil(Tp / ROWS), n],
    });
    // dV and dK sum over the blocks: the last block spans every key and writes, the others add
    // over their keys. dV goes into V's copy; dQ into dO's once all of dV is done; dK into K's
    // once all of dQ is.
    const keyGrad = (bl: ScoreBlock, scores: GPUBuffer, rowsOf: GPUBuffer, c: GPUBuffer, alpha: number) => {
      const sc = blockOperand(bl, n);
      matmul(gpu, {
        a: scores, b: rowsOf, c, M: bl.width, N: HSp, K: bl.rows, layout: 'tn', batch: n,
        offsetA: sc.offset, strideA: sc.stride, offsetB: bl.row0 * HSp, strideB: Tp * HSp, strideC: Tp * HSp,
        alpha, accumulate: bl !== last,
      });
    };
    for (const bl of [...blocks].reverse()) keyGrad(bl, S, dOh, Vh, 1);
    for (const bl of blocks) {
      const sc = blockOperand(bl, n);
      matmul(gpu, { a: dP, b: Kh, c: dOh, M: bl.rows, N: HSp, K: bl.width, batch: n, offsetA: sc.offset, strideA: sc.stride, strideB: Tp * HSp, offsetC: bl.row0 * HSp, strideC: Tp * HSp, alpha: scale });
    }
    for (const bl of [...blocks].reverse()) keyGrad(bl, dP, Qh, Kh, scale);
    fromHeads(gpu, { ...slice, tensor: a.dQ, heads: dOh, accumulate });
    fromHeads(gpu, { ...slice, tensor: a.dK, heads: Kh, accumulate });
    fromHeads(gpu, { ...slice, tensor: a.dV, heads: Vh, accumulate });
  }
  for (const buf of [D, Qh, Kh, Vh, dOh, S, dP]) gpu.release(buf);
  opt.release();
}
