/**
 * Whether repeated training steps stay the same: the same work on the same shapes must take the
 * same time and hold the same GPU memory at step 10 as at step 1. A step that grows slower or a
 * pool that keeps growing means something accumulates across steps.
 */
export interface StepSample {
  seconds: number;
  /**
   * CPU seconds this process spent in the step. On lavapipe the "GPU" is this process's threads,
   * so this is the step's work unaffected by other jobs sharing the cores: the steadier measure of
   * drift on a shared machine.
   */
  cpuSeconds: number;
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
  /** The same two for the step's CPU time (StepSample.cpuSeconds). */
  cpuSpread: number;
  cpuSlopePerStep: number;
  /** Pool bytes after the last step minus after the first. */
  poolGrowthBytes: number;
  text: string;
}

export function driftSummary(steps: StepSample[]): DriftSummary {
  if (steps.length === 0) throw new Error('bench: no timed steps to summarize');
  const n = steps.length;
  const { mean: meanSeconds, spread, slope: slopePerStep } = trend(steps.map((s) => s.seconds));
  const { spread: cpuSpread, slope: cpuSlope } = trend(steps.map((s) => s.cpuSeconds));
  const poolGrowthBytes = steps[n - 1]!.poolBytes - steps[0]!.poolBytes;
  const t = steps.map((s) => s.seconds);
  const made = steps.map((s) => s.bindGroupsMade);
  const cpu = steps.map((s) => s.cpuSeconds);
  const text =
    `step time ${Math.min(...t).toFixed(2)}-${Math.max(...t).toFixed(2)} s over ${n} steps (spread ${(100 * spread).toFixed(1)}%, ` +
    `trend ${slopePerStep >= 0 ? '+' : ''}${(100 * slopePerStep).toFixed(2)}%/step); CPU time ${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)} s ` +
    `(spread ${(100 * cpuSpread).toFixed(1)}%, trend ${cpuSlope >= 0 ? '+' : ''}${(100 * cpuSlope).toFixed(2)}%/step); GPU pool ${poolGrowthBytes === 0 ? 'flat' : `changed by ${(poolGrowthBytes / 2 ** 20).toFixed(1)} MiB`} ` +
    `at ${(steps[n - 1]!.poolBytes / 2 ** 30).toFixed(3)} GiB; bind groups made per step ${Math.min(...made)}-${Math.max(...made)}`;
  return { meanSeconds, spread, slopePerStep, cpuSpread, cpuSlopePerStep: cpuSlope, poolGrowthBytes, text };
}

/** Mean, (max - min) / mean, and the least-squares slope against the index as a fraction of the mean. */
function trend(t: number[]): { mean: number; spread: number; slope: number } {
  const n = t.length;
  const mean = t.reduce((a, b) => a + b, 0) / n;
  const meanI = (n - 1) / 2;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - meanI) * (t[i]! - mean);
    den += (i - meanI) ** 2;
  }
  return { mean, spread: mean > 0 ? (Math.max(...t) - Math.min(...t)) / mean : 0, slope: den === 0 || mean === 0 ? 0 : num / den / mean };
}
