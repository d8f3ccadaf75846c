import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { learningRate, lrMultiplier, resolveWarmupSteps } from '../../src/train/optimizer/schedule.js';

describe('learning-rate schedules (transformers formulas)', () => {
  it('linear with warmup: ramps from 0, peaks at warmup, reaches 0 at the end', () => {
    const s = { kind: 'linear' as const, lr: 1e-3, warmupSteps: 4, totalSteps: 12 };
    const got = Array.from({ length: 13 }, (_, k) => lrMultiplier(s, k));
    expect(got).toEqual([0, 0.25, 0.5, 0.75, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0]);
    expect(learningRate(s, 4)).toBe(1e-3);
  });

  it('linear without warmup: the first step runs at the full rate (the paper preset)', () => {
    const s = { kind: 'linear' as const, lr: 5e-5, warmupSteps: 0, totalSteps: 100 };
    expect(learningRate(s, 0)).toBe(5e-5);
    expect(learningRate(s, 50)).toBeCloseTo(2.5e-5, 15);
    expect(learningRate(s, 99)).toBeCloseTo(5e-7, 15);
  });

  it('cosine matches 0.5(1 + cos(pi progress)) after warmup', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 500 }), fc.nat(600), (warmup, span, k) => {
        const total = warmup + span;
        const s = { kind: 'cosine' as const, lr: 1, warmupSteps: warmup, totalSteps: total };
        const want =
          k < warmup ? k / Math.max(1, warmup) : Math.max(0, 0.5 * (1 + Math.cos((Math.PI * (k - warmup)) / Math.max(1, total - warmup))));
        expect(lrMultiplier(s, k)).toBeCloseTo(want, 12);
      }),
    );
  });

  it('linear never goes negative past the end and is monotone after warmup', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 200 }), (warmup, span) => {
        const s = { kind: 'linear' as const, lr: 1, warmupSteps: warmup, totalSteps: warmup + span };
        let prev = Infinity;
        for (let k = warmup; k <= warmup + span + 5; k++) {
          const m = lrMultiplier(s, k);
          expect(m).toBeGreaterThanOrEqual(0);
          expect(m).toBeLessThanOrEqual(prev);
          prev = m;
        }
      }),
    );
  });

  it('warmup ratio rounds up as transformers does', () => {
    expect(resolveWarmupSteps(1000, 0, 0.03)).toBe(30);
    expect(resolveWarmupSteps(10, 0, 0.05)).toBe(1);
    expect(resolveWarmupSteps(10, 3, 0.5)).toBe(3);
  });
});
