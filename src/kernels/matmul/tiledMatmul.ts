import type { MatmulShape } from './matmulArgs.js';
import { bindings, paramsStruct } from './matmulBindings.js';

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
