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
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/**
 * The interval of an unweighted mean of independent category rates (the paper's Avg column):
 * normal approximation with variance Σ pᵢ(1 − pᵢ)/nᵢ / k², clipped to [0, 1].
 */
export function meanOfRatesInterval(rates: { p: number; n: number }[], z = Z95): Interval {
  const k = rates.length;
  if (k === 0) return { low: 0, high: 1 };
  const mean = rates.reduce((a, r) => a + r.p, 0) / k;
  const variance = rates.reduce((a, r) => a + (r.n === 0 ? 0.25 : (r.p * (1 - r.p)) / r.n), 0) / (k * k);
  const half = z * Math.sqrt(variance);
  return { low: Math.max(0, mean - half), high: Math.min(1, mean + half) };
}
