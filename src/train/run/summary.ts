/** What a finished run reports: steps, the loss at its start and end, time, memory, and where its outputs lie. */
import { join } from 'node:path';
import type { StepMetrics } from '../metrics.js';
import type { TrainOptions } from '../options.js';
import { formatDuration } from '../progress.js';
import type { RunTally } from './runTally.js';

export interface TrainSummary {
  steps: number;
  totalSteps: number;
  losses: number[];
  checkpoint: string;
  elapsedSeconds: number;
  tokensPerSecond: number;
  peakGpuBytes: number;
}

/** The summary of a run that has done `tally.step` of `totalSteps` steps, with `metrics` logged since step 1. */
export function summarizeRun(tally: RunTally, totalSteps: number, metrics: readonly StepMetrics[], peakGpuBytes: number): TrainSummary {
  return {
    steps: tally.step,
    totalSteps,
    losses: metrics.map((m) => m.loss),
    checkpoint: tally.lastSaved!,
    elapsedSeconds: tally.elapsedSeconds(),
    tokensPerSecond: tally.tokensThisRun / Math.max(1e-9, tally.elapsedThisRun()),
    peakGpuBytes,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function formatSummary(s: TrainSummary, options: TrainOptions): string {
  const k = Math.max(1, Math.min(10, Math.floor(s.losses.length / 4)));
  return [
    'kiln: training done',
    `  steps            ${s.steps}/${s.totalSteps}`,
    `  loss             ${mean(s.losses.slice(0, k)).toFixed(4)} (first ${k}) -> ${mean(s.losses.slice(-k)).toFixed(4)} (last ${k})`,
    `  time             ${formatDuration(s.elapsedSeconds)} (${s.tokensPerSecond.toFixed(1)} tok/s this run)`,
    `  peak GPU memory  ${(s.peakGpuBytes / 2 ** 20).toFixed(1)} MiB`,
    `  checkpoint       ${s.checkpoint}`,
    `  metrics          ${join(options.out, 'metrics.jsonl')}`,
    `  loss curve       ${join(options.out, 'loss.png')}`,
  ].join('\n');
}
