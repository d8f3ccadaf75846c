/**
 * 95% confidence intervals for pass rates.
 *
 * A query's score is 0, 0.5 or 1, not a coin, so the Wilson score interval (for a binomial
 * proportion) is used with the mean score as p. For any variable in [0, 1] with mean p the
 * variance is at most p(1 − p), so the interval is conservative, never too narrow.
 */

const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

export function wilsonInterval(p: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At p = 0 or 1 the bound is exactly 0 or 1; rounding would leave 1e-17.
  return { low: p === 0 ? 0 : Math.max(0, center - half), high: p === 1 ? 1 : Math.min(1, center + half) };
}

/**
 * The interval of an unweighted mean of independent category rates (the paper's Avg column). The
 * mean's variance is Σ pᵢ(1 − pᵢ)/nᵢ / k²; with all rates equal that is p(1 − p)/n_eff for
 * n_eff = k² / Σ 1/nᵢ, so the Wilson interval is taken at n_eff. Unlike the normal approximation it
 * stays honest at the edges: 0 solved of N gives [0, something above 0], never [0, 0].
 */
export function meanOfRatesInterval(rates: { p: number; n: number }[], z = Z95): Interval {
  const k = rates.length;
  if (k === 0 || rates.some((r) => r.n === 0)) return { low: 0, high: 1 };
  const mean = rates.reduce((a, r) => a + r.p, 0) / k;
  const effectiveN = (k * k) / rates.reduce((a, r) => a + 1 / r.n, 0);
  return wilsonInterval(mean, effectiveN, z);
}
