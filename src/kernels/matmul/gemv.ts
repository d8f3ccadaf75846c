import { paramsStruct } from './matmulBindings.js';

// The gemv kernel serves M <= GEMV_MAX_M by default, compiled for the smallest MT in GEMV_MT
// holding M (more rows take more workgroups along y, each streaming B again). Each invocation
// streams R = gemvRows(MT) rows of B: 8 at MT = 1, as many as fit before accumulators spill, and
// R·MT = 8 accumulators keeps that register budget for larger MT. Past M = 4 the subgroup kernel is
// faster (the measurements: docs/lavapipe-speed.md, "Decoding: the gemv kernel"). WG: lavapipe's
// subgroup size (8) runs a workgroup as one SIMD pass; hardware GPUs get 64.
export const GEMV_MT = [1, 2, 4];
export const GEMV_MAX_M = 4;
export const gemvRows = (MT: number) => Math.max(1, 8 / MT);

/**
 * The small-M 'nt' kernel (decoding: A is one token's activations per batch row, B a weight [N, K]):
 * a matrix-vector product bound by streaming B. Each invocation owns R rows of B (WG apart, so a
 * workgroup covers WG·R consecutive rows) and walks each whole row along K, dotting it with all
 * MT rows of A: no reduction across lanes, so no subgroups or shared memory. lavapipe turns a
 * storage load into a loop over the lanes, so what counts is loads per weight: per step an
 * invocation issues R loads of B (a vec4 of f32, or 8 packed halves) and MT of A (the same address
 * in every lane). f16 weights come 8 halves per vec4<u32> load, the most weights per load (the
 * alternatives tried: docs/lavapipe-speed.md, "Decoding: the gemv kernel"). B rows past N are
 * clamped (computed, not stored); A rows past M likewise.
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
