/**
 * Per-row softmax cross-entropy in float64 (0 for targets outside [0, V), i.e. ignore_index -100),
 * and dLogits·dScale. The term scales size float32's rounding where results cancel: a loss
 * m + log Σ − logit_t near 0 still carries the rounding of its terms, and the target's gradient
 * (p − 1)·dScale with p near 1 that of the 1.
 */
export function crossEntropyReference(logits: ArrayLike<number>, targets: ArrayLike<number>, rows: number, V: number, dScale = 1) {
  const loss = new Float64Array(rows);
  const dLogits = new Float64Array(rows * V);
  let lossTermScale = 0;
  let dLogitsTermScale = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0 || t >= V) continue;
    let m = -Infinity;
    for (let c = 0; c < V; c++) m = Math.max(m, logits[r * V + c]);
    let s = 0;
    for (let c = 0; c < V; c++) s += Math.exp(logits[r * V + c] - m);
    loss[r] = m + Math.log(s) - logits[r * V + t];
    lossTermScale = Math.max(lossTermScale, Math.abs(m) + Math.abs(Math.log(s)) + Math.abs(logits[r * V + t]));
    dLogitsTermScale = Math.abs(dScale);
    for (let c = 0; c < V; c++) dLogits[r * V + c] = (Math.exp(logits[r * V + c] - m) / s - (c === t ? 1 : 0)) * dScale;
  }
  return { loss, dLogits, lossTermScale, dLogitsTermScale };
}
