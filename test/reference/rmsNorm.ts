/**
 * RMS norm (Hugging Face's LlamaRMSNorm) in float64: rstd = 1/sqrt(mean(x²) + eps), y = x·rstd·γ,
 * and its backward with the sizes of the terms each output sums (float32 errs relative to those
 * where they cancel).
 */
export function rmsNormReference(x: ArrayLike<number>, gamma: ArrayLike<number>, rows: number, cols: number, eps: number) {
  const y = new Float64Array(rows * cols);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[r * cols + c] ** 2;
    rstd[r] = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * rstd[r] * gamma[c];
  }
  return { y, rstd };
}

export function rmsNormBackwardReference(x: ArrayLike<number>, gamma: ArrayLike<number>, dY: ArrayLike<number>, rows: number, cols: number, eps: number) {
  const { rstd } = rmsNormReference(x, gamma, rows, cols, eps);
  const dX = new Float64Array(rows * cols);
  const dGamma = new Float64Array(cols);
  const dGammaTerms = new Float64Array(cols);
  let dXTermScale = 0;
  for (let r = 0; r < rows; r++) {
    const rs = rstd[r];
    let m = 0;
    let mAbs = 0;
    for (let c = 0; c < cols; c++) {
      const t = dY[r * cols + c] * gamma[c] * x[r * cols + c] * rs;
      m += t / cols;
      mAbs += Math.abs(t) / cols;
    }
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xh = x[i] * rs;
      dX[i] = rs * (dY[i] * gamma[c] - xh * m);
      dXTermScale = Math.max(dXTermScale, rs * (Math.abs(dY[i] * gamma[c]) + Math.abs(xh) * mAbs));
      dGamma[c] += dY[i] * xh;
      dGammaTerms[c] += Math.abs(dY[i] * xh);
    }
  }
  return { dX, dGamma, dXTermScale, dGammaTermScale: Math.max(0, ...dGammaTerms) };
}
