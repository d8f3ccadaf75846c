import type { Gpu } from '../runtime/device.js';
import { f16ToF32 } from '../casts.js';
import { grid1d, Params, u32Params } from '../runtime/params.js';
import { memoryBoundShape } from '../runtime/streaming.js';
import { canTranspose, transpose } from './transpose.js';
import { checkLanes } from '../runtime/subgroupWidth.js';

/** Which operand is stored transposed: 'nn' A[M,K]·B[K,N]; 'nt' A[M,K]·B[N,K]ᵀ; 'tn' A[K,M]ᵀ·B[K,N]. */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

/**
 * 'subgroup': one subgroup per workgroup sharing A through subgroupBroadcast (lavapipe's shape);
 * 'subgroup-nt': 'subgroup' after copying the operands into the 'nt' layout (see relayoutToNt);
 * 'tiled': register-blocked shared-memory tiles, needing no optional feature (discrete GPUs);
 * 'gemv': 'nt' with few rows of A (decoding: x·Wᵀ), each invocation streaming whole rows of B.
 */
export type MatmulVariant = 'subgroup' | 'subgroup-nt' | 'tiled' | 'gemv';

export interface MatmulArgs {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  M: number;
  N: number;
  K: number;
  layout?: MatmulLayout;
  /** Independent products, the z of the grid; operand i starts at offsetX + i·strideX. */
  batch?: number;
  /** Elements between batch items (default: the operand's size; 0 shares one operand across the batch). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Element offsets of batch item 0. */
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
  /** [N] added to every row of alpha·A·B, before relu. */
  bias?: GPUBuffer;
  relu?: boolean;
  /** C += result instead of C = result. */
  accumulate?: boolean;
  alpha?: number;
  /**
   * B's element type. 'f16': IEEE halves packed two per u32 (element 2i in the low half, as
   * casts.ts reads them), offsets and strides still in elements: inference weights at half the
   * bytes. 'gemv' reads them directly (f32 arithmetic); the other variants widen B into a
   * temporary f32 buffer first.
   */
  bDtype?: 'f32' | 'f16';
  /** Forces a variant (tests and the bench); by default picked from the adapter. */
  variant?: MatmulVariant;
}

// What a shader is compiled for: the layout, and whether every operand reads as vec4 (every row
// each operand steps through starts on a 16-byte boundary, true for all of OPT's shapes). One flag
// for all three keeps the pipelines per layout at two: each subgroup pipeline costs lavapipe
// seconds to compile. The epilogue is chosen at run time through `p.flags`: it runs once per
// element of C, so its branches cost nothing measurable, and compiling it in would multiply the
// pipelines by eight.
export interface MatmulShape {
  layout: MatmulLayout;
  vec: boolean;
}

// The uniform block both variants share; offsets and strides in elements. flags: 1 bias, 2 relu, 4 accumulate.
const paramsStruct = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, sA: u32, sB: u32, sC: u32, alpha: f32, flags: u32 }`;

function bindings(vec: boolean): string {
  const t = vec ? 'vec4f' : 'f32';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<${t}>;
@group(0) @binding(1) var<storage, read> B: array<${t}>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<${t}>;
@group(0) @binding(4) var<uniform> p: P;`;
}

/** Four consecutive elements of X from element index i (a vec4 index when X is vec4). */
function load4(x: 'A' | 'B', vec: boolean, i: string): string {
  return vec ? `${x}[${i}]` : `vec4f(${x}[${i}], ${x}[${i} + 1u], ${x}[${i} + 2u], ${x}[${i} + 3u])`;
}

// The epilogue for four adjacent columns n..n+3 of one row: alpha·acc + bv (the bias, or 0), relu,
// then store or add. Columns past N are dropped; `i` is the index of column n in C's units.
function epilogue(vec: boolean, acc: string, bv: string, row: string, n: string, i: string): string {
  const lines = [`var v = fma(vec4f(p.alpha), ${acc}, ${bv});`, 'if ((p.flags & 2u) != 0u) { v = max(v, vec4f(0.0)); }'];
  if (vec) {
    // N is a multiple of 4 here, so a vec4 is all in or all out.
    lines.push(`if (${row} < p.M && ${n} < p.N) { if ((p.flags & 4u) != 0u) { v += C[${i}]; } C[${i}] = v; }`);
  } else {
    lines.push(`if (${row} < p.M) {`);
    for (let c = 0; c < 4; c++) {
      lines.push(`  if (${n} + ${c}u < p.N) { if ((p.flags & 4u) != 0u) { v[${c}] += C[${i} + ${c}u]; } C[${i} + ${c}u] = v[${c}]; }`);
    }
    lines.push('}');
  }
  return `{ ${lines.join('\n')} }`;
}

/**
 * The lavapipe kernel. lavapipe runs a workgroup on one CPU thread, SIMD across a subgroup's lanes,
 * and turns every storage load into a loop over the lanes with a bounds check per component
 * (Mesa's gallivm emit_load_mem): loads, not FMAs, bound a matmul there, and the cost is per
 * element loaded. So a workgroup is a single subgroup (no barriers, no shared memory), each lane
 * owns a TM x 4·CV block of C (CV vec4s of adjacent columns, 4·SG apart so one B load across the
 * lanes is contiguous), and the A values all lanes need are loaded once, spread over the lanes as
 * vec4s, and handed around with subgroupBroadcast. Per k a lane loads 4·CV + TM/SG elements for
 * TM·4·CV FMAs. Workgroup tile: TM rows x 4·SG·CV columns.
 *
 * Row blocks run fastest (wid.x), so the workgroups a thread takes one after another share B's
 * column panel, which then stays in its L2. In 'nn' that panel's rows lie N floats apart, a page or
 * more, where the prefetchers do not follow; walking columns fastest re-read it from L3 for every
 * row block (measured in docs/lavapipe-speed.md).
 *
 * Speed follows the instruction count of the k loop, mostly the lanes walked for each loaded
 * element, not memory; bigger tiles spend fewer instructions per FLOP but outgrow the instruction
 * cache and spill. The instruction mix and its measurement (bench/lavapipeCode.ts) are in
 * docs/lavapipe-speed.md.
 */
export function subgroupMatmulWgsl(s: MatmulShape, TM: number, SG: number, CV: number): string {
  const nt = s.layout === 'nt';
  const tn = s.layout === 'tn';
  const V = [...Array(CV).keys()];
  const C4 = [0, 1, 2, 3];
  const JA = tn ? Math.ceil(TM / 4 / SG) : TM / SG; // A loads per lane per k (tn) or per 4 k (nn, nt)
  const L: string[] = [];
  for (const v of V) L.push(`let n${v} = wid.y * ${4 * SG * CV}u + ${4 * SG * v}u + 4u * lane;`);
  for (let r = 0; r < TM; r++) for (const v of V) L.push(`var acc${r}_${v} = vec4f(0.0);`);
  // Rows and columns are clamped into the matrices: rows of A past M and columns of B past N only
  // feed elements of C that are never stored.
  for (let j = 0; j < JA; j++) {
    if (tn) L.push(`let am${j} = min(m0 + 4u * (lane + ${SG * j}u), p.M - ${s.vec ? 4 : 1}u);`); // vec: M % 4 == 0
    else L.push(`let aRow${j} = a0 + min(m0 + lane + ${SG * j}u, p.M - 1u) * p.K;`);
  }
  for (const v of V) {
    if (nt) for (const c of C4) L.push(`let bRow${v}_${c} = b0 + min(n${v} + ${c}u, p.N - 1u) * p.K;`);
    else if (s.vec) L.push(`let bn${v} = b0 + min(n${v}, p.N - 4u);`); // vec: N % 4 == 0
    else for (const c of C4) L.push(`let bn${v}_${c} = b0 + min(n${v} + ${c}u, p.N - 1u);`);
  }

  // tn: A[k, m..m+3], the four rows of column k that lane slot j holds.
  const aTn = (j: number, k: string) =>
    s.vec ? `A[(a0 + ${k} * p.M + am${j}) / 4u]` : `vec4f(${C4.map((c) => `A[a0 + ${k} * p.M + min(am${j} + ${c}u, p.M - 1u)]`).join(', ')})`;
  // nn, tn: B[k, n..n+3] for the lane's column group v.
  const bK = (v: number, k: string) => (s.vec ? `B[(bn${v} + ${k} * p.N) / 4u]` : `vec4f(${C4.map((c) => `B[bn${v}_${c} + ${k} * p.N]`).join(', ')})`);
  const fmaRow = (r: number, a: string, t: string) => V.map((v) => `acc${r}_${v} = fma(vec4f(${a}), b${t}_${v}, acc${r}_${v});`);

  // One 4-deep k step.
  const body: string[] = [];
  for (const v of V) {
    if (nt) {
      for (const c of C4) body.push(`let bq${v}_${c} = ${load4('B', s.vec, s.vec ? `(bRow${v}_${c} + k) / 4u` : `bRow${v}_${c} + k`)};`);
      for (const t of C4) body.push(`let b${t}_${v} = vec4f(${C4.map((c) => `bq${v}_${c}[${t}]`).join(', ')});`);
    } else {
      for (const t of C4) body.push(`let b${t}_${v} = ${bK(v, `(k + ${t}u)`)};`);
    }
  }
  if (tn) {
    for (const t of C4) {
      for (let j = 0; j < JA; j++) body.push(`let a${t}_${j} = ${aTn(j, `(k + ${t}u)`)};`);
      for (let g = 0; g < TM / 4; g++) {
        body.push(`let s${t}_${g} = subgroupBroadcast(a${t}_${Math.floor(g / SG)}, ${g % SG}u);`);
        for (const e of C4) body.push(...fmaRow(4 * g + e, `s${t}_${g}[${e}]`, `${t}`));
      }
    }
  } else {
    for (let j = 0; j < JA; j++) body.push(`let a${j} = ${load4('A', s.vec, s.vec ? `(aRow${j} + k) / 4u` : `aRow${j} + k`)};`);
    for (let r = 0; r < TM; r++) {
      body.push(`let s${r} = subgroupBroadcast(a${Math.floor(r / SG)}, ${r % SG}u);`);
      for (const t of C4) body.push(...fmaRow(r, `s${r}[${t}]`, `${t}`));
    }
  }
  // The K % 4 tail, one k at a time. A vec4 row along k implies K % 4 == 0, so the tail only exists
  // in the scalar shader or for tn (whose vec4s run along M and N).
  const tail: string[] = [];
  for (const v of V) tail.push(`let bT_${v} = ${nt ? `vec4f(${C4.map((c) => `B[bRow${v}_${c} + k]`).join(', ')})` : bK(v, 'k')};`);
  // aT, not a: a0 is batch item 0's offset into A, which a second lane slot (JA = 2 at 4 lanes) reads.
  if (tn) {
    for (let j = 0; j < JA; j++) tail.push(`let aT${j} = ${aTn(j, 'k')};`);
    for (let g = 0; g < TM / 4; g++) {
      tail.push(`let s${g} = subgroupBroadcast(aT${Math.floor(g / SG)}, ${g % SG}u);`);
      for (const e of C4) tail.push(...fmaRow(4 * g + e, `s${g}[${e}]`, 'T'));
    }
  } else {
    for (let j = 0; j < JA; j++) tail.push(`let aT${j} = A[aRow${j} + k];`);
    for (let r = 0; r < TM; r++) tail.push(...fmaRow(r, `subgroupBroadcast(aT${Math.floor(r / SG)}, ${r % SG}u)`, 'T'));
  }
  const tailLoop = s.vec && !tn ? '' : `for (var k = K4; k < p.K; k++) {\n    ${tail.join('\n    ')}\n  }`;
  const stores: string[] = [];
  for (const v of V) {
    const bias = C4.map((c) => `bias[min(n${v} + ${c}u, p.N - 1u)]`).join(', ');
    stores.push(`let bv${v} = select(vec4f(0.0), vec4f(${bias}), (p.flags & 1u) != 0u);`);
  }
  for (let r = 0; r < TM; r++) {
    const row = `(m0 + ${r}u)`;
    for (const v of V) {
      const i = s.vec ? `(c0 + ${row} * p.N + n${v}) / 4u` : `c0 + ${row} * p.N + n${v}`;
      stores.push(epilogue(s.vec, `acc${r}_${v}`, `bv${v}`, row, `n${v}`, i));
    }
  }
  return /* wgsl */ `
enable subgroups;
${paramsStruct}
${bindings(s.vec)}
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let m0 = wid.x * ${TM}u;
  // Element offsets of this batch item (the shader indexes in elements, dividing by 4 for vec4s).
  let a0 = p.offA + wid.z * p.sA;
  let b0 = p.offB + wid.z * p.sB;
  let c0 = p.offC + wid.z * p.sC;
  ${L.join('\n  ')}
  let K4 = p.K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    ${body.join('\n    ')}
  }
  ${tailLoop}
  ${stores.join('\n  ')}
}`;
}

/** subgroupMatmulWgsl's grid: row blocks along x, which run fastest (see there), column blocks along y. */
export function subgroupMatmulGrid(M: number, N: number, batch: number, TM: number, SG: number, CV: number): [number, number, number] {
  return [Math.ceil(M / TM), Math.ceil(N / (4 * SG * CV)), batch];
}

/**
 * The portable kernel: a 16x16 workgroup computes a 64x64 tile of C, each thread a 4x4 block
 * (rows ty + 16i, columns tx + 16j, so neighbouring threads read neighbouring shared-memory words),
 * staging 64x16 slices of A and B in workgroup memory per 16-deep K step. Every thread loads 4
 * elements of each slice; the index order follows the operand's contiguous axis so that loads
 * coalesce on a GPU in every layout. Out-of-range elements load as zero.
 */
export function tiledMatmulWgsl(s: MatmulShape): string {
  const TILE = 64;
  const BK = 16;
  // Slice element e of 1024: (kk, mm) with the contiguous axis fastest.
  const aKFast = s.layout !== 'tn';
  const bKFast = s.layout === 'nt';
  const stores: string[] = [];
  for (let i = 0; i < 4; i++) {
    stores.push(`{ let row = m0 + ly + ${16 * i}u;`);
    for (let j = 0; j < 4; j++) {
      const col = `(n0 + lx + ${16 * j}u)`;
      const lines = [`var v = p.alpha * acc[${i}][${j}];`];
      lines.push(`if ((p.flags & 1u) != 0u) { v += bias[min(${col}, p.N - 1u)]; }`);
      lines.push('if ((p.flags & 2u) != 0u) { v = max(v, 0.0); }');
      lines.push(`if (row < p.M && ${col} < p.N) { let i = c0 + row * p.N + ${col}; if ((p.flags & 4u) != 0u) { v += C[i]; } C[i] = v; }`);
      stores.push(`  { ${lines.join(' ')} }`);
    }
    stores.push('}');
  }
  return /* wgsl */ `
${paramsStruct}
${bindings(false)}
var<workgroup> As: array<array<f32, ${TILE}>, ${BK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${BK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let lx = lid.x;
  let ly = lid.y;
  let tid = ly * 16u + lx;
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  let a0 = p.offA + wid.z * p.sA;
  let b0 = p.offB + wid.z * p.sB;
  let c0 = p.offC + wid.z * p.sC;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {
    for (var i = 0u; i < 4u; i++) {
      let e = tid + 256u * i;
      ${aKFast ? `let kk = e % ${BK}u; let mm = e / ${BK}u;` : `let mm = e % ${TILE}u; let kk = e / ${TILE}u;`}
      let m = m0 + mm;
      let k = k0 + kk;
      var va = 0.0;
      if (m < p.M && k < p.K) { va = A[a0 + ${aKFast ? 'm * p.K + k' : 'k * p.M + m'}]; }
      As[kk][mm] = va;
      ${bKFast ? `let kb = e % ${BK}u; let nn = e / ${BK}u;` : `let nn = e % ${TILE}u; let kb = e / ${TILE}u;`}
      let nb = n0 + nn;
      let kg = k0 + kb;
      var vb = 0.0;
      if (nb < p.N && kg < p.K) { vb = B[b0 + ${bKFast ? 'nb * p.K + kg' : 'kg * p.N + nb'}]; }
      Bs[kb][nn] = vb;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[k][ly + 16u * i]; b[i] = Bs[k][lx + 16u * i]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`;
}

/**
 * The small-M 'nt' kernel (decoding: A is one token's activations per batch row, B a weight [N, K]):
 * a matrix-vector product bound by streaming B. Each invocation owns R rows of B (WG apart, so a
 * workgroup covers WG·R consecutive rows) and walks each whole row along K, dotting it with all
 * MT rows of A: no reduction across lanes, so no subgroups or shared memory. lavapipe turns a
 * storage load into a loop over the lanes, so what counts is loads per weight: per step an
 * invocation issues R loads of B (a vec4 of f32, or 8 packed halves) and MT of A (the same address
 * in every lane). Measured in bench/gemvVariants.ts: splitting K across a subgroup's lanes with a
 * subgroupAdd at the end was equal at best and slower on the LM head's short rows; handing A
 * around by subgroupBroadcast instead of loading it was slower; vec4<f16> loads (shader-f16) are
 * as many as f32's and were no faster, while 8 halves per vec4<u32> load streamed ~1.5x the weights
 * per second. B rows past N are clamped (computed, not stored); A rows past M likewise.
 */
export function gemvWgsl(s: { vec: boolean; f16: boolean }, MT: number, R: number, WG: number): string {
  const { vec, f16 } = s;
  const ms = [...Array(MT).keys()];
  const rs = [...Array(R).keys()];
  const acc = vec ? 'vec4f' : 'f32';
  // Elements of A and B (along K) per step: vec4 of f32, or two vec4s of A against 8 halves of B.
  const step = vec ? (f16 ? 8 : 4) : 1;
  const L: string[] = [];
  for (const r of rs) L.push(`let n${r} = wid.x * ${WG * R}u + ${WG * r}u + lid;`);
  for (const r of rs) L.push(`let bRow${r} = b0 + min(n${r}, p.N - 1u) * p.K;`);
  for (const m of ms) L.push(`let aRow${m} = a0 + min(m0 + ${m}u, p.M - 1u) * p.K;`);
  for (const m of ms) for (const r of rs) L.push(`var acc${m}_${r} = ${acc}(0.0);`);
  // vec: K % step == 0 and every row start aligned to a step, so the indices divide exactly.
  const body: string[] = [];
  for (const m of ms) {
    if (!vec) body.push(`let a${m} = A[aRow${m} + k];`);
    else if (!f16) body.push(`let a${m} = A[(aRow${m} + k) / 4u];`);
    else body.push(`let a${m} = A[(aRow${m} + k) / 4u];`, `let a${m}h = A[(aRow${m} + k) / 4u + 1u];`);
  }
  for (const r of rs) {
    if (!f16) body.push(`let b${r} = B[${vec ? `(bRow${r} + k) / 4u` : `bRow${r} + k`}];`);
    else if (vec) {
      body.push(`let w${r} = B[(bRow${r} + k) / 8u];`);
      body.push(`let b${r} = vec4f(unpack2x16float(w${r}.x), unpack2x16float(w${r}.y));`);
      body.push(`let b${r}h = vec4f(unpack2x16float(w${r}.z), unpack2x16float(w${r}.w));`);
    } else {
      body.push(`let e${r} = bRow${r} + k;`);
      body.push(`let w${r} = unpack2x16float(B[e${r} / 2u]);`);
      body.push(`let b${r} = select(w${r}.x, w${r}.y, (e${r} & 1u) != 0u);`);
    }
    for (const m of ms) {
      body.push(`acc${m}_${r} = fma(a${m}, b${r}, acc${m}_${r});`);
      if (f16 && vec) body.push(`acc${m}_${r} = fma(a${m}h, b${r}h, acc${m}_${r});`);
    }
  }
  const stores: string[] = [];
  for (const r of rs) stores.push(`let bv${r} = select(0.0, bias[min(n${r}, p.N - 1u)], (p.flags & 1u) != 0u);`);
  for (const m of ms) {
    for (const r of rs) {
      const dot = vec ? `dot(acc${m}_${r}, vec4f(1.0))` : `acc${m}_${r}`;
      stores.push(
        `{ var v = fma(p.alpha, ${dot}, bv${r}); if ((p.flags & 2u) != 0u) { v = max(v, 0.0); }` +
          ` if (m0 + ${m}u < p.M && n${r} < p.N) { let i = c0 + (m0 + ${m}u) * p.N + n${r}; if ((p.flags & 4u) != 0u) { v += C[i]; } C[i] = v; } }`,
      );
    }
  }
  const bType = f16 ? (vec ? 'vec4<u32>' : 'u32') : vec ? 'vec4f' : 'f32';
  return /* wgsl */ `
${paramsStruct}
@group(0) @binding(0) var<storage, read> A: array<${vec ? 'vec4f' : 'f32'}>;
@group(0) @binding(1) var<storage, read> B: array<${bType}>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * ${MT}u;
  let a0 = p.offA + wid.z * p.sA;
  let b0 = p.offB + wid.z * p.sB;
  let c0 = p.offC + wid.z * p.sC;
  ${L.join('\n  ')}
  for (var k = 0u; k < p.K; k += ${step}u) {
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

// Tile of the subgroup kernel (see subgroupMatmulWgsl), compared with bench/matmulVariants.ts
// --tiles in 'nn' and 'nt': TM 32 and one vec4 of columns per lane was the fastest on lavapipe;
// taller or wider blocks load fewer elements per FMA but spill more accumulators and took seconds
// to a minute longer to compile. The scalar
// shader (shapes not multiples of 4) serves tests and odd sizes, so it takes the smallest tile
// (TM = SG), which compiles several times faster.
export const SUBGROUP_TM = 32;
export const SUBGROUP_CV = 1;

// The subgroup sizes subgroupMatmulWgsl takes: a workgroup is one subgroup, and the vec4 shader's
// TM rows of A are spread over the lanes TM / SG to a lane, so SG must divide SUBGROUP_TM (the
// scalar shader's TM is SG itself). At 64 lanes 'tiled' runs instead.
export const SUBGROUP_MATMUL_LANES = [4, 8, 16, 32] as const;

/** The subgroup size the 'subgroup' variants compile for on this device, or why they cannot run. */
export function subgroupMatmulLanes(gpu: Gpu): { ok: true; lanes: number } | { ok: false; why: string } {
  return checkLanes('the subgroup matmul', SUBGROUP_MATMUL_LANES, gpu.subgroupWidth);
}

// The gemv kernel serves M <= GEMV_MAX_M by default, compiled for the smallest MT in GEMV_MT
// holding M (more rows take more workgroups along y, each streaming B again). Rows of B per
// invocation R: measured in bench/gemvVariants.ts at MT = 1 on lavapipe (CPU-time estimates, the
// machine being shared), 8 rows streamed 1.1-1.5x faster than 4 in f32 and f16 and 16 rows
// spilled (slower, compiling for ~1 s); R·MT = 8 accumulators keeps that register budget for
// larger MT. Against the subgroup kernel at N 4096, K 1024 (CPU ms): M 1: 5.9 vs 16.6; M 2: 3.7 vs
// 17; M 4: 7.1 vs 13; M 8 (MT 8, R 1): 28 vs 11, hence the cut at 4. WG: lavapipe's subgroup size
// (8) runs a workgroup as one SIMD pass; hardware GPUs get 64.
const GEMV_MT = [1, 2, 4];
const GEMV_MAX_M = 4;
const gemvRows = (MT: number) => Math.max(1, 8 / MT);

// Where lavapipe's subgroup kernel reads a copy in 'nt' instead (relayoutToNt). Measured with
// bench/matmulVariants.ts on a training step's shapes, MxKxN, in place -> copied, GFLOP/s per 2
// CPU-seconds (the machine shared): 'tn' (dW, K = tokens) 1024x512x1024: 33 -> 43-47,
// 4096x512x1024: 35 -> 49, 1024x512x4096: 33 -> 47, 50272x512x512 (the LM head's dTable): 36 -> 47;
// 'nn' 512x50272x512 (its dH): 36 -> 43; but 'nn' with K 1024 or 4096 (dX): 50 -> 44-45, so only
// a long K pays for the copy of B.
const RELAYOUT_NN_MIN_K = 8192;
// In 'tn' the copies pay only for a large enough C: they cost a pass over K·(M + N) elements and
// two dispatches, the product's gain grows with M·N. Measured the same way, in place -> copied, ms
// (Dawn robustness off): attention's dV/dK blocks 512x64x64: 0.23 -> 0.40, 640x64x32: 0.26 ->
// 0.53, 640x640x32: 0.80 -> 1.28; a 128-wide model's dW 128x1280x128: 1.19-1.21 -> 1.36-1.72; but
// 512x1280x128 4.46 -> 4.13 (cpu-est 41 -> 47), 128x1280x512 4.43 -> 4.18, and OPT-350m's as above.
const RELAYOUT_TN_MIN_MN = 65536;

// Generated sources by shape. Generating one costs ~0.1 ms (the subgroup kernel) or ~7 µs (gemv),
// and every dispatch needs its source before the pipeline cache can answer; decoding records
// hundreds of matmuls per token.
const sources = new Map<string, string>();
function source(key: string, make: () => string): string {
  let code = sources.get(key);
  if (code === undefined) sources.set(key, (code = make()));
  return code;
}

function defaultVariant(gpu: Gpu, layout: MatmulLayout, M: number, N: number, K: number): MatmulVariant {
  if (layout === 'nt' && M <= GEMV_MAX_M) return 'gemv';
  // Only lavapipe runs the subgroup kernel faster than 'tiled'; anywhere, it needs a size it supports.
  if (!(gpu.adapter.isSoftware && subgroupMatmulLanes(gpu).ok)) return 'tiled';
  const copy = layout === 'tn' ? M * N >= RELAYOUT_TN_MIN_MN : layout === 'nn' && K >= RELAYOUT_NN_MIN_K;
  return copy ? 'subgroup-nt' : 'subgroup';
}

/**
 * The 'subgroup-nt' variant: transposes A ('tn') and B ('nn', 'tn') into fresh [M, K] and [N, K]
 * buffers, then runs the subgroup kernel in 'nt'. There each lane walks its own rows of A and B
 * along K, 16 bytes per step, four steps to a cache line; in 'tn' every k step of every lane
 * lands on a new row of both operands (a stride of M or N floats), which lavapipe's per-lane
 * loads pay for (see RELAYOUT_NN_MIN_K and RELAYOUT_TN_MIN_MN for the measurements). A transpose
 * is one pass over an operand that the product then reads ⌈N/32⌉ (A) or ⌈M/32⌉ (B) times. Shapes
 * the transpose cannot take (not multiples of 4, a temporary over the binding size limit) run
 * 'subgroup' in place.
 */
function relayoutToNt(gpu: Gpu, args: MatmulArgs): void {
  const { a, b, M, N, K, layout = 'nn', batch = 1 } = args;
  const { offsetA = 0, offsetB = 0, offsetC = 0, strideA = M * K, strideB = K * N, strideC = M * N } = args;
  // strideX = 0 shares one operand across the batch: transpose it once.
  const itemsA = strideA === 0 ? 1 : batch;
  const itemsB = strideB === 0 ? 1 : batch;
  const moveA = layout === 'tn';
  const moveB = layout !== 'nt';
  const fits =
    [offsetC, strideC, N].every((x) => x % 4 === 0) &&
    (!moveA || canTranspose(gpu, { R: K, C: M, batch: itemsA, offset: offsetA, stride: strideA })) &&
    (!moveB || canTranspose(gpu, { R: K, C: N, batch: itemsB, offset: offsetB, stride: strideB }));
  if (!fits) {
    matmul(gpu, { ...args, variant: 'subgroup' });
    return;
  }
  const next: MatmulArgs = { ...args, layout: 'nt', variant: 'subgroup' };
  const temps: GPUBuffer[] = [];
  if (moveA) {
    const t = gpu.alloc(4 * itemsA * M * K, 'matmul-a-mk');
    transpose(gpu, { src: a, dst: t, R: K, C: M, batch: itemsA, offset: offsetA, stride: strideA });
    Object.assign(next, { a: t, offsetA: 0, strideA: itemsA === 1 ? 0 : M * K });
    temps.push(t);
  }
  if (moveB) {
    const t = gpu.alloc(4 * itemsB * N * K, 'matmul-b-nk');
    transpose(gpu, { src: b, dst: t, R: K, C: N, batch: itemsB, offset: offsetB, stride: strideB });
    Object.assign(next, { b: t, offsetB: 0, strideB: itemsB === 1 ? 0 : N * K });
    temps.push(t);
  }
  matmul(gpu, next);
  for (const t of temps) gpu.release(t);
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
    relayoutToNt(gpu, args);
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

// One lane per column (four columns as a vec4 when N allows), summing down the rows in order:
// deterministic, and each row's columns are read contiguously across a workgroup's lanes. On
// lavapipe a workgroup is one subgroup (streaming.ts: wider ones run their subgroups one after
// another, striding through memory); GPUs take 64 lanes of single columns.
const biasGradWgsl = (lanes: number, w: 1 | 4) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { M: u32, N: u32, nx: u32, _a: u32 }
@group(0) @binding(0) var<storage, read> dY: array<V>;
@group(0) @binding(1) var<storage, read_write> dBias: array<V>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * p.nx) * ${lanes}u + lid;
  if (n >= p.N) { return; }
  var s = V(0.0);
  for (var m = 0u; m < p.M; m++) { s += dY[m * p.N + n]; }
  dBias[n] += s;
}`;

/** dBias[N] += column sums of dY[M,N] (the bias gradient of a linear layer). */
export function biasGrad(gpu: Gpu, args: { dY: GPUBuffer; dBias: GPUBuffer; M: number; N: number }): void {
  const { dY, dBias, M, N } = args;
  const sh = memoryBoundShape(gpu);
  const cpu = sh.kind === 'cpu';
  const lanes = cpu ? sh.lanes : 64;
  const w = cpu && N % 4 === 0 ? 4 : 1;
  const { workgroups, nx } = grid1d(Math.ceil(N / w / lanes), gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.dispatch({
    kernel: `biasGrad(M=${M},N=${N})`,
    pipeline: gpu.pipeline(`biasGrad_w${w}_${lanes}`, biasGradWgsl(lanes, w)),
    bindings: [{ buffer: dY, size: 4 * M * N }, { buffer: dBias, size: 4 * N }],
    params: u32Params(M, N / w, nx, 0),
    workgroups,
  });
}
