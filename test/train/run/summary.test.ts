/** The end-of-run summary: counts and rates from the tally, losses from the metrics, and its printed form. */
import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../../../src/train/metrics.js';
import { RunTally } from '../../../src/train/run/runTally.js';
import { formatSummary, summarizeRun } from '../../../src/train/run/summary.js';
import type { TrainerState } from '../../../src/train/trainerState.js';
import { runOptions } from './fixtures.js';

describe('summarizeRun', () => {
  it('rates this run\'s tokens over this run\'s time, and counts time from before a resume', () => {
    let now = 0;
    const tally = new RunTally({ dir: 'out/checkpoint-10', state: { step: 10, tokensSeen: 1000, elapsedSeconds: 30 } as TrainerState }, () => now);
    tally.stepDone(400);
    tally.stepDone(600);
    tally.lastSaved = 'out/checkpoint-12';
    now = 4000;
    const metrics = [{ loss: 2 }, { loss: 1.5 }] as StepMetrics[];
    const s = summarizeRun(tally, 12, metrics, 3 * 2 ** 20);
    expect(s).toEqual({ steps: 12, totalSteps: 12, losses: [2, 1.5], checkpoint: 'out/checkpoint-12', elapsedSeconds: 34, tokensPerSecond: 250, peakGpuBytes: 3 * 2 ** 20 });
    const text = formatSummary(s, runOptions({ out: 'out' }));
    expect(text).toContain('steps            12/12');
    expect(text).toContain('loss             2.0000 (first 1) -> 1.5000 (last 1)');
    expect(text).toContain('(250.0 tok/s this run)');
    expect(text).toContain('peak GPU memory  3.0 MiB');
  });
});
