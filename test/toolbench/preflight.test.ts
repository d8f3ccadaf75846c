import { describe, expect, it } from 'vitest';
import { formatPreflight, percentile, preflightMarkdown, summarizePreflight } from '../../src/toolbench/preflight.js';

describe('length pre-flight', () => {
  it('interpolates percentiles as numpy does, rounded', () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([7], 0.1)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(3); // 2.5 rounds up
    expect(percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], 0.1)).toBe(9);
    expect(percentile([100, 200, 300], 0.5)).toBe(200);
  });

  it('counts per group what fits, what overflows before the first step, and what is left', () => {
    const p = summarizePreflight(
      [
        { group: 'G1', openingTokens: 100, totalTokens: 900 },
        { group: 'G1', openingTokens: 950, totalTokens: 990 }, // fits, 50 left
        { group: 'G1', openingTokens: 990, totalTokens: 1200 }, // overflows later; 10 left < reserve 16
        { group: 'G2', openingTokens: 1100, totalTokens: 1300 }, // overflows before the first step
        { group: 'G2', openingTokens: 400, totalTokens: 1001 },
      ],
      { subject: 'training examples', positions: 1000, reserve: 16, fitting: 'toolbench' },
    );
    expect(p.rows.map((r) => r.group)).toEqual(['G1', 'G2', 'all']);
    expect(p.rows[0]).toEqual({ group: 'G1', items: 3, fit: 2, overflowBeforeFirstStep: 1, leftMedian: 50, leftP10: 18 });
    expect(p.rows[1]).toEqual({ group: 'G2', items: 2, fit: 0, overflowBeforeFirstStep: 1, leftMedian: 300, leftP10: 60 });
    expect(p.rows[2]).toMatchObject({ group: 'all', items: 5, fit: 2, overflowBeforeFirstStep: 2, leftMedian: 50 });
    const text = formatPreflight(p);
    expect(text).toMatch(/training examples in 1000 positions/);
    expect(text).toMatch(/\n  G1 +3 +2 \(66\.7%\) +1 +50 +18\n/);
    expect(preflightMarkdown(p)).toContain('| G2 | 2 | 0 (0.0%) | 1 | 300 | 60 |');
  });

  it('has no all row for a single group', () => {
    const p = summarizePreflight([{ group: 'only', openingTokens: 5, totalTokens: 8 }], {
      subject: 'evaluation queries',
      positions: 10,
      reserve: 4,
      fitting: 'compact',
    });
    expect(p.rows).toEqual([{ group: 'only', items: 1, fit: 1, overflowBeforeFirstStep: 0, leftMedian: 5, leftP10: 5 }]);
  });
});
