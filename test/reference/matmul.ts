/** C[M,N] = op(A)·op(B) in float64, with A, B row-major as stored. */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  layout: 'nn' | 'nt' | 'tn' = 'nn',
): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const av = layout === 'tn' ? a[k * M + i] : a[i * K + k];
        const bv = layout === 'nt' ? b[j * K + k] : b[k * N + j];
        acc += av * bv;
      }
      c[i * N + j] = acc;
    }
  }
  return c;
}
