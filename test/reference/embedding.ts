import { largest } from './largest.js';

/** out[n] = table[ids[n]] (+ prior out when given), in float64. */
export function embeddingForwardReference(ids: ArrayLike<number>, table: ArrayLike<number>, D: number, prior?: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let n = 0; n < ids.length; n++) {
    for (let c = 0; c < D; c++) out.push(table[ids[n] * D + c] + (prior ? prior[n * D + c] : 0));
  }
  return out;
}

/**
 * dTable (starting from `prior`) += scatter of dOut rows by id, skipping `skipId`. termScale is the
 * largest |prior| + Σ|dOut| of an element: the sum can cancel to far below its terms, and float32
 * errs relative to them.
 */
export function embeddingBackwardReference(ids: ArrayLike<number>, dOut: ArrayLike<number>, prior: ArrayLike<number>, D: number, skipId?: number) {
  const dTable = Array.from(prior, Number);
  const terms = Array.from(prior, (v) => Math.abs(v));
  for (let n = 0; n < ids.length; n++) {
    if (ids[n] === skipId) continue;
    for (let c = 0; c < D; c++) {
      dTable[ids[n] * D + c] += dOut[n * D + c];
      terms[ids[n] * D + c] += Math.abs(dOut[n * D + c]);
    }
  }
  return { dTable, termScale: largest(terms) };
}
