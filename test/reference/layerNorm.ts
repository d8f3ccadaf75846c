import { largest } from './largest.js';

/**
 * torch.nn.LayerNorm in float64: biased variance, rstd = 1/sqrt(var + eps). meanAbs (mean|x| per
 * row), meanTermScale (its largest) and yTermScale (see normalisedScale) size float32's rounding where the
 * mean cancels or x̂ is formed from nearly equal values.
 */
export function layerNormReference(x: ArrayLike<number>, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, rows: number, cols: number, eps: number) {
  const y = new Float64Array(rows * cols);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  const meanAbs = new Float64Array(rows);
  let yTermScale = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let sAbs = 0;
    for (let c = 0; c < cols; c++) {
      s += x[r * cols + c];
      sAbs += Math.abs(x[r * cols + c]);
    }
    const mu = s / cols;
    meanAbs[r] = sAbs / cols;
    let q = 0;
    for (let c = 0; c < cols; c++) q += (x[r * cols + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) {
      const gm = gamma ? gamma[c] : 1;
      const bt = beta ? beta[c] : 0;
      y[r * cols + c] = (x[r * cols + c] - mu) * rs * gm + bt;
      yTermScale = Math.max(yTermScale, normalisedScale(x[r * cols + c], meanAbs[r], rs) * Math.abs(gm) + Math.abs(bt));
    }
  }
  return { y, mean, rstd, meanAbs, yTermScale, meanTermScale: largest(meanAbs) };
}

/**
 * The size float32 errs relative to when it forms x̂ = (x − mean)·rstd: the mean rounds relative
 * to mean|x| (its terms can cancel) and the subtraction relative to |x|, not to their difference,
 * so a row whose spread is tiny next to its values (x = 1.9999993, 1.9999994) gets x̂ wrong by
 * ~1 ulp(x)·rstd, which can be 100% of x̂.
 */
function normalisedScale(x: number, meanAbs: number, rstd: number): number {
  return (Math.abs(x) + meanAbs) * rstd;
}

/**
 * The analytic backward in float64 (dX, dGamma, dBeta for upstream dY). dXTermScale is the largest
 * rstd·(|g| + mean|g| + s·mean|g·s|) of an element, dGammaTermScale the largest Σ_rows |dY|·s and
 * dBetaTermScale the largest Σ_rows |dY|, with s the size float32's x̂ errs relative to (see normalisedScale): dX's terms cancel
 * (g − mean g − x̂·mean(g·x̂)), and float32 errs relative to the terms, not to the result.
 */
export function layerNormBackwardReference(x: ArrayLike<number>, gamma: ArrayLike<number> | null, dY: ArrayLike<number>, rows: number, cols: number, eps: number) {
  const { mean, rstd, meanAbs } = layerNormReference(x, gamma, null, rows, cols, eps);
  const dX = new Float64Array(rows * cols);
  const dGamma = new Float64Array(cols);
  const dBeta = new Float64Array(cols);
  const dGammaTerms = new Float64Array(cols);
  const dBetaTerms = new Float64Array(cols);
  let dXTermScale = 0;
  for (let r = 0; r < rows; r++) {
    let a = 0;
    let b = 0;
    let aAbs = 0;
    let bAbs = 0;
    for (let c = 0; c < cols; c++) {
      const xh = (x[r * cols + c] - mean[r]) * rstd[r];
      const s = normalisedScale(x[r * cols + c], meanAbs[r], rstd[r]);
      const g = dY[r * cols + c] * (gamma ? gamma[c] : 1);
      a += g;
      b += g * xh;
      aAbs += Math.abs(g);
      bAbs += Math.abs(g) * s;
      dGamma[c] += dY[r * cols + c] * xh;
      dGammaTerms[c] += Math.abs(dY[r * cols + c]) * s;
      dBeta[c] += dY[r * cols + c];
      dBetaTerms[c] += Math.abs(dY[r * cols + c]);
    }
    a /= cols;
    b /= cols;
    aAbs /= cols;
    bAbs /= cols;
    for (let c = 0; c < cols; c++) {
      const xh = (x[r * cols + c] - mean[r]) * rstd[r];
      const g = dY[r * cols + c] * (gamma ? gamma[c] : 1);
      dX[r * cols + c] = rstd[r] * (g - a - xh * b);
      const s = normalisedScale(x[r * cols + c], meanAbs[r], rstd[r]);
      dXTermScale = Math.max(dXTermScale, rstd[r] * (Math.abs(g) + aAbs + s * bAbs));
    }
  }
  return { dX, dGamma, dBeta, dXTermScale, dGammaTermScale: largest(dGammaTerms), dBetaTermScale: largest(dBetaTerms) };
}
