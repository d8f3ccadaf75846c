/**
 * Grouped KV heads in float64: expand repeats KV head j for query heads j·G .. j·G + G − 1
 * (HF's repeat_kv); reduce sums each group's gradients back.
 */
export function expandKvReference(kv: ArrayLike<number>, rows: number, NKV: number, NH: number, HS: number) {
  const G = NH / NKV;
  const out = new Float64Array(rows * NH * HS);
  for (let r = 0; r < rows; r++) for (let h = 0; h < NH; h++) for (let d = 0; d < HS; d++) out[(r * NH + h) * HS + d] = kv[(r * NKV + Math.floor(h / G)) * HS + d];
  return out;
}

export function reduceKvReference(dOut: ArrayLike<number>, rows: number, NKV: number, NH: number, HS: number) {
  const G = NH / NKV;
  const dKv = new Float64Array(rows * NKV * HS);
  for (let r = 0; r < rows; r++) for (let h = 0; h < NH; h++) for (let d = 0; d < HS; d++) dKv[(r * NKV + Math.floor(h / G)) * HS + d] += dOut[(r * NH + h) * HS + d];
  return dKv;
}
