/** out[n] = table[ids[n]] (+ prior out when given), in float64. */
export function embeddingForwardReference(ids: ArrayLike<number>, table: ArrayLike<number>, D: number, prior?: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let n = 0; n < ids.length; n++) {
    for (let c = 0; c < D; c++) out.push(table[ids[n] * D + c] + (prior ? prior[n * D + c] : 0));
  }
  return out;
}

/** dTable (starting from `prior`) += scatter of dOut rows by id, skipping `skipId`. */
export function embeddingBackwardReference(ids: ArrayLike<number>, dOut: ArrayLike<number>, prior: ArrayLike<number>, D: number, skipId?: number): number[] {
  const dTable = Array.from(prior, Number);
  for (let n = 0; n < ids.length; n++) {
    if (ids[n] === skipId) continue;
    for (let c = 0; c < D; c++) dTable[ids[n] * D + c] += dOut[n * D + c];
  }
  return dTable;
}
