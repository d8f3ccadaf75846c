/** The run's counters: a fresh run starts at zero, a resumed one continues the checkpoint's. */
import { describe, expect, it } from 'vitest';
import { RunTally } from '../../../src/train/run/runTally.js';
import type { TrainerState } from '../../../src/train/trainerState.js';

describe('RunTally', () => {
  it('a fresh run counts steps, tokens and time from zero', () => {
    let now = 1000;
    const tally = new RunTally(null, () => now);
    tally.stepDone(30);
    tally.stepDone(12);
    now = 3500;
    expect([tally.step, tally.stepsThisRun, tally.tokensSeen, tally.tokensThisRun]).toEqual([2, 2, 42, 42]);
    expect(tally.elapsedThisRun()).toBe(2.5);
    expect(tally.elapsedSeconds()).toBe(2.5);
    expect(tally.lastSaved).toBeNull();
  });

  it('a resumed run continues the checkpoint\'s step, tokens and time, and its directory is the last saved', () => {
    let now = 0;
    const state = { step: 40, tokensSeen: 5000, elapsedSeconds: 60 } as TrainerState;
    const tally = new RunTally({ dir: 'out/checkpoint-40', state }, () => now);
    tally.stepDone(100);
    now = 2000;
    expect([tally.step, tally.stepsThisRun, tally.tokensSeen, tally.tokensThisRun]).toEqual([41, 1, 5100, 100]);
    expect(tally.elapsedSeconds()).toBe(62);
    expect(tally.lastSaved).toBe('out/checkpoint-40');
  });
});
