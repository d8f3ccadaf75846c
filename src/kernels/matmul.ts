import type { Gpu } from './device.js';
import { Params, u32Params } from './params.js';

/** Which operand is stored transposed: 'nn' A[M,K]·B[K,N]; 'nt' A[M,K]·B[N,K]ᵀ; 'tn' A[K,M]ᵀ·B[K,N]. */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

/**
 * 'subgroup': one subgroup per workgroup sharing A through subgroupBroadcast (lavapipe's shape);
 * 'tiled': register-blocked shared-memory tiles, needing no optional feature (discrete GPUs).
 */
export type MatmulVariant = 'subgroup' | 'tiled';

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
 */
export function subgroupMatmulWgsl(s: MatmulShape, TM: number, SG: number, CV: number): string {
  const nt = s.layout === 'nt';
  const tn = s.layout === 'tn';
  const V = [...Array(CV).keys()];
  const C4 = [0, 1, 2, 3];
  const JA = tn ? Math.ceil(TM / 4 / SG) : TM / SG; // A loads per lane per k (tn) or per 4 k (nn, nt)
  const L: string[] = [];
  for (const v of V) L.push(`let n${v} = wid.x * ${4 * SG * CV}u + ${4 * SG * v}u + 4u * lane;`);
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
  if (tn) {
    for (let j = 0; j < JA; j++) tail.push(`let a${j} = ${aTn(j, 'k')};`);
    for (let g = 0; g < TM / 4; g++) {
      tail.push(`let s${g} = subgroupBroadcast(a${Math.floor(g / SG)}, ${g % SG}u);`);
      for (const e of C4) tail.push(...fmaRow(4 * g + e, `s${g}[${e}]`, 'T'));
    }
  } else {
    for (let j = 0; j < JA; j++) tail.push(`let a${j} = A[aRow${j} + k];`);
    for (let r = 0; r < TM; r++) tail.push(...fmaRow(r, `subgroupBroadcast(a${Math.floor(r / SG)}, ${r % SG}u)`, 'T'));
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
  let m0 = wid.y * ${TM}u;
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

// Tile of the subgroup kernel (see subgroupMatmulWgsl), compared in bench/matmulVariants.ts: TM 32
// and one vec4 of columns per lane was the fastest on lavapipe; taller or wider blocks load fewer
// elements per FMA but spill more accumulators and took seconds longer to compile. The scalar
// shader (shapes not multiples of 4) serves tests and odd sizes, so it takes the smallest tile
// (TM = SG), which compiles several times faster.
const SUBGROUP_TM = 32;
const SUBGROUP_CV = 1;

function defaultVariant(gpu: Gpu): MatmulVariant {
  const { isSoftware, subgroupMinSize: lo, subgroupMaxSize: hi } = gpu.adapter;
  return gpu.features.subgroups && isSoftware && lo === hi && lo >= 4 && SUBGROUP_TM % lo === 0 ? 'subgroup' : 'tiled';
}

/**
 * C = op(A)·op(B) with the fused epilogue C (+)= relu(alpha·op(A)·op(B) + bias), over `batch`
 * strided items. Any M, N, K ≥ 1.
 */
export function matmul(gpu: Gpu, args: MatmulArgs): void {
  const { a, b, c, M, N, K, layout = 'nn', batch = 1, bias, relu = false, accumulate = false, alpha = 1 } = args;
  const { offsetA = 0, offsetB = 0, offsetC = 0, strideA = M * K, strideB = K * N, strideC = M * N } = args;
  if (M < 1 || N < 1 || K < 1 || batch < 1) throw new Error(`kiln: matmul needs M, N, K, batch >= 1 (got ${M}, ${N}, ${K}, ${batch})`);
  const variant = args.variant ?? defaultVariant(gpu);
  const SG = gpu.adapter.subgroupMinSize;
  if (variant === 'subgroup' && (!gpu.features.subgroups || SG !== gpu.adapter.subgroupMaxSize || SUBGROUP_TM % SG !== 0)) {
    throw new Error(`kiln: matmul variant 'subgroup' needs the subgroups feature and one subgroup size dividing ${SUBGROUP_TM}`);
  }
  const four = (...xs: number[]) => xs.every((x) => x % 4 === 0);
  const sub = variant === 'subgroup';
  // vec4 rows need every row start of every batch item 16-byte aligned, in all three operands.
  const vec = sub && four(offsetA, strideA, offsetB, strideB, offsetC, strideC, N, layout === 'tn' ? M : K, layout === 'nt' ? K : N);
  const name = `${layout}${vec ? '-vec4' : ''}`;
  const TM = vec ? SUBGROUP_TM : SG;
  const pipeline = sub
    ? gpu.pipeline(`matmul-subgroup(${name})`, subgroupMatmulWgsl({ layout, vec }, TM, SG, SUBGROUP_CV))
    : gpu.pipeline(`matmul-tiled(${name})`, tiledMatmulWgsl({ layout, vec }));
  const span = (off: number, stride: number, size: number) => 4 * (off + (batch - 1) * stride + size);
  // Without a bias the shader never reads binding 2; A stands in (two read-only bindings may alias).
  const bindings = [
    { buffer: a, size: span(offsetA, strideA, M * K) },
    { buffer: b, size: span(offsetB, strideB, K * N) },
    bias ? { buffer: bias, size: 4 * N } : { buffer: a, size: 4 },
    { buffer: c, size: span(offsetC, strideC, M * N) },
  ];
  const flags = (bias ? 1 : 0) | (relu ? 2 : 0) | (accumulate ? 4 : 0);
  const tileN = sub ? 4 * SG * SUBGROUP_CV : 64;
  const tileM = sub ? TM : 64;
  gpu.dispatch({
    kernel: `matmul-${variant}(${name},M=${M},N=${N},K=${K},batch=${batch},flags=${flags})`,
    pipeline,
    bindings,
    params: new Params().u32(M).u32(N).u32(K).u32(offsetA).u32(offsetB).u32(offsetC).u32(strideA).u32(strideB).u32(strideC).f32(alpha).u32(flags).bytes(),
    workgroups: [Math.ceil(N / tileN), Math.ceil(M / tileM), batch],
    cost: { flops: 2 * batch * M * N * K, bytes: 4 * batch * (M * K + K * N + (accumulate ? 2 : 1) * M * N) },
  });
}

// One thread per column summing down the rows in order: deterministic, and dY's rows are read
// contiguously across the workgroup.
const BIAS_GRAD_WG = 64;
const biasGradWgsl = /* wgsl */ `
struct P { M: u32, N: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<storage, read> dY: array<f32>;
@group(0) @binding(1) var<storage, read_write> dBias: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${BIAS_GRAD_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.N) { return; }
  var s = 0.0;
  for (var m = 0u; m < p.M; m++) { s += dY[m * p.N + n]; }
  dBias[n] += s;
}`;

/** dBias[N] += column sums of dY[M,N] (the bias gradient of a linear layer). */
export function biasGrad(gpu: Gpu, args: { dY: GPUBuffer; dBias: GPUBuffer; M: number; N: number }): void {
  const { dY, dBias, M, N } = args;
  gpu.dispatch({
    kernel: `biasGrad(M=${M},N=${N})`,
    pipeline: gpu.pipeline('biasGrad', biasGradWgsl),
    bindings: [{ buffer: dY, size: 4 * M * N }, { buffer: dBias, size: 4 * N }],
    params: u32Params(M, N, 0, 0),
    workgroups: [Math.ceil(N / BIAS_GRAD_WG)],
    cost: { bytes: 4 * (M * N + 2 * N) },
  });
}
