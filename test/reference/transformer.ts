/**
 * Float64 references of the model's ops, written from their definitions (HF's modeling_opt.py,
 * torch.nn.functional), for tests of the autograd tape: row-major Float64Arrays throughout.
 */

export function embeddingRef(ids: ArrayLike<number>, table: Float64Array, D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) out.set(table.subarray(ids[i]! * D, (ids[i]! + 1) * D), i * D);
  return out;
}

export function addRef(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]!);
}

export function layerNormRef(x: Float64Array, gamma: Float64Array, beta: Float64Array, cols: number, eps = 1e-5): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const mean = row.reduce((s, v) => s + v, 0) / cols;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / cols;
    const rstd = 1 / Math.sqrt(variance + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = (row[c]! - mean) * rstd * gamma[c]! + beta[c]!;
  }
  return y;
}

/** y = x·Wᵀ + b (W is [N, K]), optionally relu. */
export function linearRef(x: Float64Array, w: Float64Array, b: Float64Array | null, N: number, K: number, relu = false): Float64Array {
  const M = x.length / K;
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = b ? b[n]! : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = relu ? Math.max(0, s) : s;
    }
  }
  return y;
}

/** f32's lowest value: HF fills masked scores with it (not -inf). */
const MASKED = -3.4028234663852886e38;

/**
 * Causal attention on [B, T, NH·HS] rows: key j is hidden from query i when j > i or j is
 * padding; the score is then filled with f32's minimum, so a fully masked row is uniform.
 */
export function attentionRef(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  NH: number,
  HS: number,
  scale: number,
): Float64Array {
  const C = NH * HS;
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const scores = new Float64Array(T);
        for (let j = 0; j < T; j++) {
          if (j > i || mask[b * T + j] === 0) {
            scores[j] = MASKED;
            continue;
          }
          let s = 0;
          for (let d = 0; d < HS; d++) s += q[(b * T + i) * C + h * HS + d]! * k[(b * T + j) * C + h * HS + d]!;
          scores[j] = s * scale;
        }
        const max = Math.max(...scores);
        const p = scores.map((s) => Math.exp(s - max));
        const total = p.reduce((a, x) => a + x, 0);
        for (let d = 0; d < HS; d++) {
          let o = 0;
          for (let j = 0; j < T; j++) o += (p[j]! / total) * v[(b * T + j) * C + h * HS + d]!;
          out[(b * T + i) * C + h * HS + d] = o;
        }
      }
    }
  }
  return out;
}

/** Σ over rows with target != -100 of −log softmax(logits)[target]. */
export function crossEntropySumRef(logits: Float64Array, targets: ArrayLike<number>, V: number): number {
  let total = 0;
  for (let r = 0; r < targets.length; r++) {
    if (targets[r] === -100) continue;
    const row = logits.subarray(r * V, (r + 1) * V);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    total += lse - row[targets[r]!]!;
  }
  return total;
}
