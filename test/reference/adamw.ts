/** torch.optim.AdamW's step (amsgrad off) in float64, updating param, m, v in place; g = grad·gradScale. */
export function adamwReference(
  s: { param: Float64Array; m: Float64Array; v: Float64Array },
  grad: ArrayLike<number>,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; gradScale?: number },
): void {
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < s.param.length; i++) {
    const g = grad[i] * (o.gradScale ?? 1);
    s.param[i] *= 1 - o.lr * o.weightDecay;
    s.m[i] = o.beta1 * s.m[i] + (1 - o.beta1) * g;
    s.v[i] = o.beta2 * s.v[i] + (1 - o.beta2) * g * g;
    s.param[i] -= (o.lr / bc1) * (s.m[i] / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + o.eps));
  }
}
