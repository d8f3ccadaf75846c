/** silu(gate)·up and its gradients in float64. */
export function gatedMlpReference(gate: ArrayLike<number>, up: ArrayLike<number>, dH: ArrayLike<number>) {
  const n = gate.length;
  const h = new Float64Array(n);
  const dGate = new Float64Array(n);
  const dUp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    h[i] = g * s * up[i];
    dGate[i] = dH[i] * up[i] * s * (1 + g * (1 - s));
    dUp[i] = dH[i] * g * s;
  }
  return { h, dGate, dUp };
}
