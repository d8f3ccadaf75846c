/**
 * The gradient of a scalar function of `x` by central differences in float64:
 * (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every i. For tiny shapes only: 2·n evaluations of f.
 */
export function centralDifference(x: ArrayLike<number>, f: (x: Float64Array) => number, h: number): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[i]! += h;
    minus[i]! -= h;
    grad[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return grad;
}
