/**
 * Whether repeated training steps stay the same: the same work on the same shapes must take the
 * same time and hold the same GPU memory at step 10 as at step 1. A step that grows slower or a
 * pool that keeps growing means something accumulates across steps.
 */
export interface StepSample {
  seconds: number;
  /** The buffer pool's bytes after the step (in use plus pooled). */
  poolBytes: number;
  /** Buffers the pool holds after the step (in use plus pooled). */
  buffers: number;
  /** Bind groups the step had to create (cache misses). */
  bindGroupsMade: number;
}

export interface DriftSummary {
  meanSeconds: number;
  /** (slowest - fastest) / mean step time. */
  spread: number;
  /** Least-squares slope of step time against step index, as a fraction of the mean per step. */
  slopePerStep: number;
  /** Pool bytes after the last step minus after the first. */
  poolGrowthBytes: number;
  text: string;
}

export function driftSummary(steps: StepSample[]): DriftSummary {
  if (steps.length === 0) throw new Error('bench: no timed steps to summarize');
  const n = steps.length;
  const t = steps.map((s) => s.seconds);
  const meanSeconds = t.reduce((a, b) => a + b, 0) / n;
  const spread = (Math.max(...t) - Math.min(...t)) / meanSeconds;
  const meanI = (n - 1) / 2;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - meanI) * (t[i]! - meanSeconds);
    den += (i - meanI) ** 2;
  }
  const slopePerStep = den === 0 ? 0 : num / den / meanSeconds;
  const poolGrowthBytes = steps[n - 1]!.poolBytes - steps[0]!.poolBytes;
  const made = steps.map((s) => s.bindGroupsMade);
  const text =
    `step time ${Math.min(...t).toFixed(2)}-${Math.max(...t).toFixed(2)} s over ${n} steps (spread ${(100 * spread).toFixed(1)}%, ` +
    `trend ${slopePerStep >= 0 ? '+' : ''}${(100 * slopePerStep).toFixed(2)}%/step); GPU pool ${poolGrowthBytes === 0 ? 'flat' : `changed by ${(poolGrowthBytes / 2 ** 20).toFixed(1)} MiB`} ` +
    `at ${(steps[n - 1]!.poolBytes / 2 ** 30).toFixed(3)} GiB; bind groups made per step ${Math.min(...made)}-${Math.max(...made)}`;
  return { meanSeconds, spread, slopePerStep, poolGrowthBytes, text };
}
