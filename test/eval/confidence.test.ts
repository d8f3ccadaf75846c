import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { meanOfRatesInterval, wilsonInterval } from '../../src/eval/report/confidence.js';

describe('wilsonInterval', () => {
  it('matches published values', () => {
    // 8 of 10: Wilson 95% interval [0.4902, 0.9433] (e.g. Newcombe 1998, Table I method 3).
    const { low, high } = wilsonInterval(0.8, 10);
    expect(low).toBeCloseTo(0.4902, 4);
    expect(high).toBeCloseTo(0.9433, 4);
    // 0 of 20: upper bound 0.1611.
    expect(wilsonInterval(0, 20).low).toBe(0);
    expect(wilsonInterval(0, 20).high).toBeCloseTo(0.1611, 4);
  });

  it('contains p, stays in [0, 1] and narrows with n (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 5000 }), (p, n) => {
        const a = wilsonInterval(p, n);
        const b = wilsonInterval(p, 4 * n);
        expect(a.low).toBeGreaterThanOrEqual(0);
        expect(a.high).toBeLessThanOrEqual(1);
        expect(a.low).toBeLessThanOrEqual(p + 1e-12);
        expect(a.high).toBeGreaterThanOrEqual(p - 1e-12);
        expect(b.high - b.low).toBeLessThanOrEqual(a.high - a.low + 1e-12);
      }),
    );
  });
});

describe('meanOfRatesInterval', () => {
  it('is the Wilson interval of one category when there is one', () => {
    expect(meanOfRatesInterval([{ p: 0.3, n: 40 }])).toEqual(wilsonInterval(0.3, 40));
  });

  it('never reads [0, 0] for 0 solved (the report of 0 of 24 did)', () => {
    const one = meanOfRatesInterval([{ p: 0, n: 24 }]);
    expect(one.low).toBe(0);
    expect(one.high).toBeCloseTo(wilsonInterval(0, 24).high, 12);
    expect(one.high).toBeGreaterThan(0.1);
    const six = meanOfRatesInterval(Array.from({ length: 6 }, () => ({ p: 0, n: 24 })));
    expect(six.high).toBeGreaterThan(0);
    expect(six.high).toBeLessThan(one.high);
  });

  it('uses n_eff = k² / Σ 1/nᵢ for the mean of rates', () => {
    const rates = [{ p: 0.5, n: 100 }, { p: 0.3, n: 50 }];
    expect(meanOfRatesInterval(rates)).toEqual(wilsonInterval(0.4, 4 / (1 / 100 + 1 / 50)));
  });
});
