/** The largest of `values` (0 when empty): the term scales the references report are maxima of non-negative sums. */
export function largest(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i]);
  return m;
}
