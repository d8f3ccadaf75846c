import type { Gpu } from '../runtime/device.js';
import { checkLanes } from '../runtime/subgroupWidth.js';
import type { MatmulShape } from './matmulArgs.js';
import { bindings, paramsStruct } from './matmulBindings.js';

// Tile of the subgroup kernel (see subgroupMatmulWgsl): TM 32 rows and one vec4 of columns per
// lane was the fastest on lavapipe, since taller or wider blocks spill accumulators and compile far
// longer (docs/lavapipe-speed.md, "The subgroup kernel's tile"). The scalar shader (shapes not
// multiples of 4) serves tests and odd sizes, so it takes the smallest tile (TM = SG), which
// compiles several times faster.
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

/** subgroupMatmulWgsl's grid: row blocks along x, which run fastest (see there), column blocks along y. */
export function subgroupMatmulGrid(M: number, N: number, batch: number, TM: number, SG: number, CV: number): [number, number, number] {
  return [Math.ceil(M / TM), Math.ceil(N / (4 * SG * CV)), batch];
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

/** What the pieces of one subgroup shader share: its shape and tile. */
interface SubgroupTile {
  s: MatmulShape;
  TM: number;
  SG: number;
  nt: boolean;
  tn: boolean;
  /** The lane's column groups, 0..CV-1. */
  V: number[];
  /** A loads per lane per k (tn) or per 4 k (nn, nt). */
  JA: number;
}

const C4 = [0, 1, 2, 3];

function subgroupTile(s: MatmulShape, TM: number, SG: number, CV: number): SubgroupTile {
  const tn = s.layout === 'tn';
  return { s, TM, SG, nt: s.layout === 'nt', tn, V: [...Array(CV).keys()], JA: tn ? Math.ceil(TM / 4 / SG) : TM / SG };
}

/** The lane's setup: its columns, its accumulators, and where its rows of A and B start. */
function laneSetup(tile: SubgroupTile): string[] {
  const { s, TM, SG, V, JA, nt, tn } = tile;
  const CV = V.length;
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
  return L;
}

/** tn: A[k, m..m+3], the four rows of column k that lane slot j holds. */
function loadATn(tile: SubgroupTile, j: number, k: string): string {
  return tile.s.vec ? `A[(a0 + ${k} * p.M + am${j}) / 4u]` : `vec4f(${C4.map((c) => `A[a0 + ${k} * p.M + min(am${j} + ${c}u, p.M - 1u)]`).join(', ')})`;
}

/** nn, tn: B[k, n..n+3] for the lane's column group v. */
function loadBK(tile: SubgroupTile, v: number, k: string): string {
  return tile.s.vec ? `B[(bn${v} + ${k} * p.N) / 4u]` : `vec4f(${C4.map((c) => `B[bn${v}_${c} + ${k} * p.N]`).join(', ')})`;
}

/** Row r's accumulators += a times the lane's B values b{tag}_v. */
function fmaRow(tile: SubgroupTile, r: number, a: string, tag: string): string[] {
  return tile.V.map((v) => `acc${r}_${v} = fma(vec4f(${a}), b${tag}_${v}, acc${r}_${v});`);
}

/** One 4-deep k step. */
function kStep(tile: SubgroupTile): string[] {
  const { s, TM, SG, V, JA, nt, tn } = tile;
  const body: string[] = [];
  for (const v of V) {
    if (nt) {
      for (const c of C4) body.push(`let bq${v}_${c} = ${load4('B', s.vec, s.vec ? `(bRow${v}_${c} + k) / 4u` : `bRow${v}_${c} + k`)};`);
      for (const t of C4) body.push(`let b${t}_${v} = vec4f(${C4.map((c) => `bq${v}_${c}[${t}]`).join(', ')});`);
    } else {
      for (const t of C4) body.push(`let b${t}_${v} = ${loadBK(tile, v, `(k + ${t}u)`)};`);
    }
  }
  if (tn) {
    for (const t of C4) {
      for (let j = 0; j < JA; j++) body.push(`let a${t}_${j} = ${loadATn(tile, j, `(k + ${t}u)`)};`);
      for (let g = 0; g < TM / 4; g++) {
        body.push(`let s${t}_${g} = subgroupBroadcast(a${t}_${Math.floor(g / SG)}, ${g % SG}u);`);
        for (const e of C4) body.push(...fmaRow(tile, 4 * g + e, `s${t}_${g}[${e}]`, `${t}`));
      }
    }
  } else {
    for (let j = 0; j < JA; j++) body.push(`let a${j} = ${load4('A', s.vec, s.vec ? `(aRow${j} + k) / 4u` : `aRow${j} + k`)};`);
    for (let r = 0; r < TM; r++) {
      body.push(`let s${r} = subgroupBroadcast(a${Math.floor(r / SG)}, ${r % SG}u);`);
      for (const t of C4) body.push(...fmaRow(tile, r, `s${r}[${t}]`, `${t}`));
    }
  }
  return body;
}

// The K % 4 tail, one k at a time. A vec4 row along k implies K % 4 == 0, so the tail only exists
// in the scalar shader or for tn (whose vec4s run along M and N).
function kTailLoop(tile: SubgroupTile): string {
  const { s, TM, SG, V, JA, nt, tn } = tile;
  if (s.vec && !tn) return '';
  const tail: string[] = [];
  for (const v of V) tail.push(`let bT_${v} = ${nt ? `vec4f(${C4.map((c) => `B[bRow${v}_${c} + k]`).join(', ')})` : loadBK(tile, v, 'k')};`);
  // aT, not a: a0 is batch item 0's offset into A, which a second lane slot (JA = 2 at 4 lanes) reads.
  if (tn) {
    for (let j = 0; j < JA; j++) tail.push(`let aT${j} = ${loadATn(tile, j, 'k')};`);
    for (let g = 0; g < TM / 4; g++) {
      tail.push(`let s${g} = subgroupBroadcast(aT${Math.floor(g / SG)}, ${g % SG}u);`);
      for (const e of C4) tail.push(...fmaRow(tile, 4 * g + e, `s${g}[${e}]`, 'T'));
    }
  } else {
    for (let j = 0; j < JA; j++) tail.push(`let aT${j} = A[aRow${j} + k];`);
    for (let r = 0; r < TM; r++) tail.push(...fmaRow(tile, r, `subgroupBroadcast(aT${Math.floor(r / SG)}, ${r % SG}u)`, 'T'));
  }
  return `for (var k = K4; k < p.K; k++) {\n    ${tail.join('\n    ')}\n  }`;
}

/** The lane's TM x 4·CV block of C through the epilogue. */
function storeBlock(tile: SubgroupTile): string[] {
  const { s, TM, V } = tile;
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
  return stores;
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
  const tile = subgroupTile(s, TM, SG, CV);
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
  ${laneSetup(tile).join('\n  ')}
  let K4 = p.K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    ${kStep(tile).join('\n    ')}
  }
  ${kTailLoop(tile)}
  ${storeBlock(tile).join('\n  ')}
}`;
}
