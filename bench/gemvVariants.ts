import { Gpu } from '../src/kernels/runtime/device.js';
import { matmul } from '../src/kernels/matmul/matmul.js';
import { Params } from '../src/kernels/runtime/params.js';
import { f32ToF16Bits } from '../src/model/checkpoint/dtypes.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { matmulRef } from '../test/reference/matmul.js';
import { benchKernel, formatTable, gpuTarget, relativeError, type BenchRow } from './harness.js';

/**
 * `node dist/bench/gemvVariants.js ['N,K;N,K'] ['kind,R,WG,U;...']`: the small-M 'nt' matmul
 * (decoding: x·Wᵀ with W [N, K], M = 1) in variants side by side, validated then timed, in GB/s of
 * weight streaming (f16 rows count the f32 bytes). The library keeps 'rows' (src/kernels/matmul/gemv.ts,
 * gemvWgsl) with R = 8, reading f32 or packed f16. Variants:
 * - rows R WG U: each invocation owns R rows of W (WG apart) and walks them along K in vec4s (U
 *   steps unrolled); A's loads have addresses uniform across lanes; no reduction at all.
 * - rowsF16: as rows, W as halves packed two per u32, 8 weights per vec4<u32> load.
 * - rowsH: as rows, W as vec4<f16> (shader-f16).
 * - split R: one subgroup per R rows, lanes split K (contiguous vec4s across lanes), subgroupAdd.
 * - uni, uniF16: every lane walks the same R rows (all addresses uniform), lane 0 stores.
 * - bcast, bcastF16: as rows with WG = subgroup, A loaded once per subgroup and handed around by
 *   subgroupBroadcast.
 *
 * The variants' measurements: docs/lavapipe-speed.md, "Decoding: the gemv kernel".
 */
type Variant = { kind: 'rows' | 'split' | 'rowsF16' | 'rowsH' | 'uni' | 'uniF16' | 'bcast' | 'bcastF16'; R: number; WG: number; U: number };

function wgsl(v: Variant, SG: number): string {
  const { kind, R, WG, U } = v;
  const rs = [...Array(R).keys()];
  const L: string[] = [];
  if (kind === 'split') {
    for (const r of rs) L.push(`let bRow${r} = (b0 + min(wid.x * ${R}u + ${r}u, p.N - 1u) * p.K) / 4u;`);
    L.push('let aRow = (a0) / 4u;');
    for (const r of rs) L.push(`var acc${r} = vec4f(0.0);`);
    const body: string[] = [];
    for (let u = 0; u < U; u++) {
      body.push(`let k${u} = k + ${u * SG}u;`);
      body.push(`let a${u} = A[aRow + k${u}];`);
      for (const r of rs) body.push(`acc${r} = fma(a${u}, B[bRow${r} + k${u}], acc${r});`);
    }
    L.push(`for (var k = lane; k < p.K / 4u; k += ${SG * U}u) {`);
    // U > 1 needs K/4 a multiple of SG·U: bench shapes are.
    L.push(...body.map((x) => `  ${x}`));
    L.push('}');
    for (const r of rs) L.push(`let s${r} = subgroupAdd(dot(acc${r}, vec4f(1.0)));`);
    for (const r of rs) L.push(`if (lane == ${r}u && wid.x * ${R}u + ${r}u < p.N) { C[wid.x * ${R}u + ${r}u] = s${r}; }`);
    return `enable subgroups;
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, sA: u32, sB: u32, sC: u32, alpha: f32, flags: u32 }
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let a0 = p.offA; let b0 = p.offB;
  ${L.join('\n  ')}
}`;
  }
  if (kind === 'bcast' || kind === 'bcastF16') return bcastWgsl(kind === 'bcastF16', R, SG);
  const f16 = kind === 'rowsF16' || kind === 'uniF16';
  const h = kind === 'rowsH';
  // uni: every lane of the workgroup walks the same rows (addresses uniform: one load, broadcast).
  const uni = kind === 'uni' || kind === 'uniF16';
  for (const r of rs) L.push(uni ? `let n${r} = wid.x * ${R}u + ${r}u;` : `let n${r} = wid.x * ${WG * R}u + ${WG * r}u + lid;`);
  // f16: a row of K halves is K/8 vec4<u32>.
  for (const r of rs) L.push(`let bRow${r} = ${f16 ? `min(n${r}, p.N - 1u) * (p.K / 8u)` : `(b0 + min(n${r}, p.N - 1u) * p.K) / 4u`};`);
  L.push('let aRow = a0 / 4u;');
  for (const r of rs) for (let u = 0; u < U; u++) L.push(`var acc${r}_${u} = vec4f(0.0);`);
  const body: string[] = [];
  if (f16) {
    for (let u = 0; u < U; u++) {
      body.push(`let aLo${u} = A[aRow + 2u * (k + ${u}u)];`, `let aHi${u} = A[aRow + 2u * (k + ${u}u) + 1u];`);
      for (const r of rs) {
        body.push(`let w${r}_${u} = B[bRow${r} + k + ${u}u];`);
        body.push(`acc${r}_${u} = fma(aLo${u}, vec4f(unpack2x16float(w${r}_${u}.x), unpack2x16float(w${r}_${u}.y)), acc${r}_${u});`);
        body.push(`acc${r}_${u} = fma(aHi${u}, vec4f(unpack2x16float(w${r}_${u}.z), unpack2x16float(w${r}_${u}.w)), acc${r}_${u});`);
      }
    }
    L.push(`for (var k = 0u; k < p.K / 8u; k += ${U}u) {`);
  } else {
    for (let u = 0; u < U; u++) {
      body.push(`let a${u} = A[aRow + k + ${u}u];`);
      for (const r of rs) body.push(`acc${r}_${u} = fma(a${u}, ${h ? 'vec4f(' : ''}B[bRow${r} + k + ${u}u]${h ? ')' : ''}, acc${r}_${u});`);
    }
    L.push(`for (var k = 0u; k < p.K / 4u; k += ${U}u) {`);
  }
  L.push(...body.map((x) => `  ${x}`));
  L.push('}');
  for (const r of rs) {
    const sum = [...Array(U).keys()].map((u) => `acc${r}_${u}`).join(' + ');
    L.push(`if (n${r} < p.N${uni ? ' && lid == 0u' : ''}) { C[n${r}] = dot(${sum}, vec4f(1.0)); }`);
  }
  return `${h ? 'enable f16;' : ''}
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, sA: u32, sB: u32, sC: u32, alpha: f32, flags: u32 }
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<${f16 ? 'vec4<u32>' : h ? 'vec4<f16>' : 'vec4f'}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let a0 = p.offA; let b0 = p.offB;
  ${L.join('\n  ')}
}`;
}

// bcast: as rows with WG = SG, but A is loaded once per subgroup (lane j holds the j-th vec4 (f32)
// or vec4 pair (f16) of a SG-step block of K) and handed to all lanes by subgroupBroadcast.
function bcastWgsl(f16: boolean, R: number, SG: number): string {
  const rs = [...Array(R).keys()];
  const E = f16 ? 8 : 4; // elements of K per lane per step
  const L: string[] = [];
  for (const r of rs) L.push(`let bRow${r} = min(wid.x * ${SG * R}u + ${SG * r}u + lane, p.N - 1u) * (p.K / ${E}u);`);
  for (const r of rs) L.push(`var acc${r} = vec4f(0.0);`);
  L.push(`for (var k0 = 0u; k0 < p.K / ${E}u; k0 += ${SG}u) {`);
  if (f16) L.push('  let aLoL = A[2u * (k0 + lane)];', '  let aHiL = A[2u * (k0 + lane) + 1u];');
  else L.push('  let aL = A[k0 + lane];');
  for (let t = 0; t < SG; t++) {
    if (f16) L.push(`  { let aLo = subgroupBroadcast(aLoL, ${t}u); let aHi = subgroupBroadcast(aHiL, ${t}u);`);
    else L.push(`  { let a = subgroupBroadcast(aL, ${t}u);`);
    for (const r of rs) {
      if (f16) {
        L.push(`    let w${r} = B[bRow${r} + k0 + ${t}u];`);
        L.push(`    acc${r} = fma(aLo, vec4f(unpack2x16float(w${r}.x), unpack2x16float(w${r}.y)), acc${r});`);
        L.push(`    acc${r} = fma(aHi, vec4f(unpack2x16float(w${r}.z), unpack2x16float(w${r}.w)), acc${r});`);
      } else L.push(`    acc${r} = fma(a, B[bRow${r} + k0 + ${t}u], acc${r});`);
    }
    L.push('  }');
  }
  L.push('}');
  for (const r of rs) L.push(`{ let n = wid.x * ${SG * R}u + ${SG * r}u + lane; if (n < p.N) { C[n] = dot(acc${r}, vec4f(1.0)); } }`);
  return `enable subgroups;
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, sA: u32, sB: u32, sC: u32, alpha: f32, flags: u32 }
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<${f16 ? 'vec4<u32>' : 'vec4f'}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  ${L.join('\n  ')}
}`;
}

function toF16Packed(x: Float32Array): Uint32Array {
  const h = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = f32ToF16Bits(x[i]);
  return new Uint32Array(h.buffer);
}

const SHAPES: [number, number][] = (process.argv[2] ?? '1024,1024;4096,1024;1024,4096;50272,512').split(';').map((s) => s.split(',').map(Number) as [number, number]);
const VARIANTS: Variant[] = (process.argv[3] ?? 'rows,1,8,1;rows,2,8,1;rows,4,8,1;rows,1,64,1;rows,1,8,2;rows,2,64,2;split,1,8,1;split,4,8,1;split,8,8,1;split,8,8,2;rowsF16,1,8,1;rowsF16,2,8,1;rowsF16,1,64,1')
  .split(';')
  .map((s) => {
    const [kind, R, WG, U] = s.split(',');
    return { kind: kind as Variant['kind'], R: Number(R), WG: Number(WG), U: Number(U) };
  });

const gpu = await Gpu.create();
const SG = gpu.subgroupWidth.lanes;
if (SG === null) throw new Error(`gemvVariants: ${gpu.subgroupWidth.why}`);
const rows: BenchRow[] = [];
const target = gpuTarget(gpu);
for (const [N, K] of SHAPES) {
  const a = seededValues(K, 1);
  const b = seededValues(N * K, 2);
  const [ba, bb, bc] = [gpu.upload(a), gpu.upload(b), gpu.alloc(4 * N)];
  const bh = gpu.upload(toF16Packed(b));
  const want = matmulRef(a, b, 1, N, K, 'nt');
  const bytes = 4 * N * K;
  const iters = Math.max(2, Math.round(2e9 / bytes));
  {
    const run = () => matmul(gpu, { a: ba, b: bb, c: bc, M: 1, N, K, layout: 'nt' });
    const row = await benchKernel({ name: 'matmul (today)', shape: `N=${N} K=${K}`, layout: 'nt', run, target, bytes, flops: 2 * N * K, iters: Math.max(1, iters >> 3) });
    rows.push(row);
    process.stderr.write(`${row.kernel} ${row.shape}: ${row.gbps!.toFixed(2)} GB/s\n`);
  }
  for (const v of VARIANTS) {
    const f16 = v.kind === 'rowsF16' || v.kind === 'rowsH' || v.kind === 'uniF16' || v.kind === 'bcastF16';
    const name = `${v.kind} R=${v.R} WG=${v.WG} U=${v.U}`;
    const t0 = performance.now();
    const pipeline = gpu.pipeline(`gemv-variant(${name})`, wgsl(v, SG));
    const perWg = v.kind === 'split' || v.kind.startsWith('uni') ? v.R : v.R * v.WG;
    const run = () =>
      gpu.dispatch({
        kernel: `gemv-variant(${name})`,
        pipeline,
        bindings: [{ buffer: ba, size: 4 * K }, f16 ? { buffer: bh, size: 2 * N * K } : { buffer: bb, size: 4 * N * K }, { buffer: bc, size: 4 * N }],
        params: new Params().u32(1).u32(N).u32(K).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).f32(1).u32(0).bytes(),
        workgroups: [Math.ceil(N / perWg)],
      });
    run();
    const err = relativeError(await gpu.readF32(bc, 0, N), want);
    const compileMs = performance.now() - t0;
    if (!(err < (f16 ? 3e-3 : 1e-5))) throw new Error(`${name} wrong: ${err}`);
    const row = await benchKernel({ name, shape: `N=${N} K=${K}`, layout: 'nt', run, target, bytes, flops: 2 * N * K, iters });
    row.note = `${f16 ? 'f16 weights (GB/s as f32); ' : ''}first call ${compileMs.toFixed(0)} ms`;
    rows.push(row);
    process.stderr.write(`${row.kernel} ${row.shape}: ${row.gbps!.toFixed(2)} GB/s\n`);
  }
  [ba, bb, bc, bh].forEach((x) => gpu.release(x));
}
gpu.destroy();
console.log(formatTable(rows));
