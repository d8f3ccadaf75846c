/**
 * Rotary embedding in float64, rotate-half pairs (i, i + HS/2) within each head, with the angle of
 * row r and frequency i given as cos/sin [rows, HS/2]. Backward: the rotation by −angle.
 */
export function rotaryReference(x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, rows: number, heads: number, HS: number, inverse = false) {
  const half = HS / 2;
  const y = new Float64Array(rows * heads * HS);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const a = (r * heads + h) * HS + i;
        const c = cos[r * half + i];
        const s = (inverse ? -1 : 1) * sin[r * half + i];
        y[a] = x[a] * c - x[a + half] * s;
        y[a + half] = x[a + half] * c + x[a] * s;
      }
    }
  }
  return y;
}
