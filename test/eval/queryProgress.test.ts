import { describe, expect, it } from 'vitest';
import { QueryProgress } from '../../src/eval/cli/queryProgress.js';

describe('QueryProgress', () => {
  it('prints a line per tenth of the way when not on a terminal', () => {
    const lines: string[] = [];
    const p = new QueryProgress(20, { write: (t: string) => lines.push(t), isTTY: false });
    for (let i = 0; i < 20; i++) p.tick(i % 2);
    expect(lines).toHaveLength(10);
    expect(lines.at(-1)).toMatch(/^eval \[#{24}\] 20\/20 pass so far 50\.0% /);
  });

  it('redraws one line on a terminal', () => {
    const writes: string[] = [];
    const p = new QueryProgress(3, { write: (t: string) => writes.push(t), isTTY: true });
    p.tick(1);
    p.tick(0);
    p.finish();
    expect(writes).toHaveLength(3);
    expect(writes[0]).toMatch(/^\reval \[#{8}\.{16}\] 1\/3 pass so far 100\.0%/);
    expect(writes[2]).toBe('\n');
  });
});
