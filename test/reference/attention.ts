import { largest } from './largest.js';

// Hugging Face's eager OPT attention in float64: scores = scale·q·kᵀ, hidden scores replaced by
// f32's lowest value (causal, padding mask on keys, packing segments), softmax, times v. A query
// row with no visible key thus has all-equal scores and attends uniformly to all Tk keys.
// Layouts as the kernels: q/out [B, Tq, NH·HS], k/v [B, kvRows, NH·HS], lse [B, NH, Tq].

export const F32_LOWEST = -3.4028234663852886e38;

export interface AttentionProblem {
  B: number;
  NH: number;
  HS: number;
  Tq: number;
  Tk: number;
  kvRows: number;
  scale: number;
  mask: ArrayLike<number> | null; // [B, kvRows], 1 real / 0 padding
  seg: ArrayLike<number> | null; // [B, Tk]
}

function visible(P: AttentionProblem, b: number, i: number, j: number): boolean {
  const pos = i + P.Tk - P.Tq;
  if (j > pos) return false;
  if (P.mask && P.mask[b * P.kvRows + j] === 0) return false;
  if (P.seg && P.seg[b * P.Tk + j] !== P.seg[b * P.Tk + pos]) return false;
  return true;
}

/** Probabilities [Tk] of query row (b, h, i), and whether the row saw no key. */
function probs(P: AttentionProblem, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, i: number) {
  const C = P.NH * P.HS;
  const s = new Float64Array(P.Tk);
  let max = -Infinity;
  let anyVisible = false;
  for (let j = 0; j < P.Tk; j++) {
    if (visible(P, b, i, j)) {
      let d = 0;
      for (let c = 0; c < P.HS; c++) d += q[(b * P.Tq + i) * C + h * P.HS + c] * k[(b * P.kvRows + j) * C + h * P.HS + c];
      s[j] = d * P.scale;
      anyVisible = true;
    } else s[j] = F32_LOWEST;
    max = Math.max(max, s[j]);
  }
  let sum = 0;
  for (let j = 0; j < P.Tk; j++) sum += Math.exp(s[j] - max);
  const pr = s.map((v) => Math.exp(v - max) / sum);
  return { pr, lse: max + Math.log(sum), blind: !anyVisible };
}

export function attentionReference(P: AttentionProblem, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>) {
  const C = P.NH * P.HS;
  const out = new Float64Array(P.B * P.Tq * C);
  const lse = new Float64Array(P.B * P.NH * P.Tq);
  for (let b = 0; b < P.B; b++)
    for (let h = 0; h < P.NH; h++)
      for (let i = 0; i < P.Tq; i++) {
        const r = probs(P, q, k, b, h, i);
        lse[(b * P.NH + h) * P.Tq + i] = r.lse;
        for (let j = 0; j < P.Tk; j++)
          for (let c = 0; c < P.HS; c++) out[(b * P.Tq + i) * C + h * P.HS + c] += r.pr[j] * v[(b * P.kvRows + j) * C + h * P.HS + c];
      }
  return { out, lse };
}

/**
 * dQ, dK, dV for upstream dOut, as PyTorch's autograd computes them through HF's `scores + mask`:
 * dS = P·(dP − D) for every key. That is zero wherever P is 0, but a row with no visible key has
 * P = 1/Tk everywhere, so its q and k receive gradient even though its output does not depend on
 * them numerically (finite differences see zero there). dQTermScale and dKTermScale are the largest
 * Σ|term| of an element, the scale float32 rounding errs relative to.
 */
export function attentionBackwardReference(P: AttentionProblem, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dOut: ArrayLike<number>) {
  const C = P.NH * P.HS;
  const dQ = new Float64Array(P.B * P.Tq * C);
  const dK = new Float64Array(P.B * P.kvRows * C);
  const dV = new Float64Array(P.B * P.kvRows * C);
  // Σ|term| per element of dQ and dK: their sums cancel (Σ_j dS·k), so float32 errs relative to these.
  const dQTerms = new Float64Array(P.B * P.Tq * C);
  const dKTerms = new Float64Array(P.B * P.kvRows * C);
  for (let b = 0; b < P.B; b++)
    for (let h = 0; h < P.NH; h++)
      for (let i = 0; i < P.Tq; i++) {
        const { pr } = probs(P, q, k, b, h, i);
        const qi = (b * P.Tq + i) * C + h * P.HS;
        const dP = new Float64Array(P.Tk);
        let D = 0;
        let DTerms = 0; // D = Σ P·dP cancels too: float32 forms it with an error relative to Σ|P·dP|
        for (let j = 0; j < P.Tk; j++) {
          const kj = (b * P.kvRows + j) * C + h * P.HS;
          for (let c = 0; c < P.HS; c++) {
            dP[j] += dOut[qi + c] * v[kj + c];
            dV[kj + c] += pr[j] * dOut[qi + c];
          }
          D += pr[j] * dP[j];
          DTerms += Math.abs(pr[j] * dP[j]);
        }
        for (let j = 0; j < P.Tk; j++) {
          const ds = pr[j] * (dP[j] - D) * P.scale;
          const dsBound = Math.abs(pr[j] * P.scale) * (Math.abs(dP[j]) + DTerms);
          const kj = (b * P.kvRows + j) * C + h * P.HS;
          for (let c = 0; c < P.HS; c++) {
            dQ[qi + c] += ds * k[kj + c];
            dK[kj + c] += ds * q[qi + c];
            dQTerms[qi + c] += dsBound * Math.abs(k[kj + c]);
            dKTerms[kj + c] += dsBound * Math.abs(q[qi + c]);
          }
        }
      }
  return { dQ, dK, dV, dQTermScale: largest(dQTerms), dKTermScale: largest(dKTerms) };
}
