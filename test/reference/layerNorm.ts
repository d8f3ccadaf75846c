/** torch.nn.LayerNorm in float64: biased variance, rstd = 1/sqrt(var + eps). */
export function layerNormReference(x: ArrayLike<number>, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, rows: number, cols: number, eps: number) {
  const y = new Float64Array(rows * cols);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    const mu = s / cols;
    let q = 0;
    for (let c = 0; c < cols; c++) q += (x[r * cols + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) y[r * cols + c] = (x[r * cols + c] - mu) * rs * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return { y, mean, rstd };
}

/**
 * The analytic backward in float64 (dX, dGamma, dBeta for upstream dY). dXTermScale is the largest
 * rstd·(|g| + mean|g| + |x̂|·mean|g·x̂|) of an element: dX's terms cancel (g − mean g − x̂·mean(g·x̂)),
 * and float32 errs relative to them, not to the result.
 */
export function layerNormBackwardReference(x: ArrayLike<number>, gamma: ArrayLike<number> | null, dY: ArrayLike<number>, rows: number, cols: number, eps: number) {
  const { mean, rstd } = layerNormReference(x, gamma, null, rows, cols, eps);
  const dX = new Float64Array(rows * cols);
  const dGamma = new Float64Array(cols);
  const dBeta = new Float64Array(cols);
  let dXTermScale = 0;
  for (let r = 0; r < rows; r++) {
    let a = 0;
    let b = 0;
    let aAbs = 0;
    let bAbs = 0;
    for (let c = 0; c < cols; c++) {
      const xh = (x[r * cols + c] - mean[r]) * rstd[r];
      const g = dY[r * cols + c] * (gamma ? gamma[c] : 1);
      a += g;
      b += g * xh;
      aAbs += Math.abs(g);
      bAbs += Math.abs(g * xh);
      dGamma[c] += dY[r * cols + c] * xh;
      dBeta[c] += dY[r * cols + c];
    }
    a /= cols;
    b /= cols;
    aAbs /= cols;
    bAbs /= cols;
    for (let c = 0; c < cols; c++) {
      const xh = (x[r * cols + c] - mean[r]) * rstd[r];
      const g = dY[r * cols + c] * (gamma ? gamma[c] : 1);
      dX[r * cols + c] = rstd[r] * (g - a - xh * b);
      dXTermScale = Math.max(dXTermScale, rstd[r] * (Math.abs(g) + aAbs + Math.abs(xh) * bAbs));
    }
  }
  return { dX, dGamma, dBeta, dXTermScale };
}
