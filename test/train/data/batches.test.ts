import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collateBatch, planBatches } from '../../../src/train/data/batches.js';
import { SeededRandom } from '../../../src/model/random.js';
import { IGNORE_INDEX, type TokenizedExample } from '../../../src/train/data/tokenizeExample.js';

function example(len: number, seed: number): TokenizedExample {
  const inputIds = Int32Array.from({ length: len }, (_, i) => (i === 0 ? 2 : 10 + ((seed + i) % 50)));
  const labels = inputIds.map((id, i) => (i > len / 2 ? id : IGNORE_INDEX));
  return { inputIds, labels };
}

describe('SeededRandom', () => {
  it('is deterministic and resumes from a saved state', () => {
    const a = new SeededRandom(42);
    const first = [a.nextUint32(), a.nextUint32()];
    const saved = a.getState();
    const rest = [a.next(), a.int(3, 9), a.nextUint32()];
    expect([new SeededRandom(42).nextUint32(), new SeededRandom(42).nextUint32()]).toEqual([first[0], first[0]]);
    const b = SeededRandom.fromState(saved);
    expect([b.next(), b.int(3, 9), b.nextUint32()]).toEqual(rest);
    expect(first[0]).not.toBe(first[1]);
  });
});

describe('planBatches', () => {
  const lengthsArb = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 300 });

  it('uses every example exactly once, deterministically per seed (property)', () => {
    fc.assert(
      fc.property(lengthsArb, fc.integer({ min: 1, max: 9 }), fc.nat(), fc.boolean(), (lengths, batchSize, seed, packing) => {
        const opts = { batchSize, seed, maxTokens: 64, packing, windowBatches: 4 };
        const plan = planBatches(lengths, opts);
        expect(planBatches(lengths, opts)).toEqual(plan);
        const used = plan.flatMap((b) => b.rows.flat()).sort((a, b) => a - b);
        expect(used).toEqual(lengths.map((_, i) => i));
        for (const batch of plan) {
          expect(batch.rows.length).toBeLessThanOrEqual(batchSize);
          for (const row of batch.rows) {
            expect(row.reduce((n, i) => n + lengths[i]!, 0)).toBeLessThanOrEqual(64);
            if (!packing) expect(row.length).toBe(1);
          }
        }
      }),
    );
  });

  it('buckets similar lengths together and varies with the seed', () => {
    const lengths = Array.from({ length: 512 }, (_, i) => 1 + ((i * 37) % 500));
    const plan = planBatches(lengths, { batchSize: 8, seed: 1, maxTokens: 512 });
    const spread = plan.map((b) => {
      const ls = b.rows.map((r) => lengths[r[0]!]!);
      return Math.max(...ls) - Math.min(...ls);
    });
    expect(spread.reduce((a, b) => a + b, 0) / spread.length).toBeLessThan(20);
    expect(planBatches(lengths, { batchSize: 8, seed: 2, maxTokens: 512 })).not.toEqual(plan);
  });

  it('packs rows nearly full', () => {
    const lengths = Array.from({ length: 400 }, (_, i) => 20 + ((i * 13) % 200));
    const plan = planBatches(lengths, { batchSize: 4, seed: 3, maxTokens: 512, packing: true });
    const rows = plan.flatMap((b) => b.rows);
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(rows.length).toBeLessThanOrEqual(Math.ceil(total / 512) + 2);
  });

  it('rejects an example longer than maxTokens', () => {
    expect(() => planBatches([3, 9], { batchSize: 2, seed: 0, maxTokens: 8 })).toThrow('example 1 has 9 tokens');
  });
});

describe('collateBatch', () => {
  it('pads to a multiple of 8 with pad id, -100 labels and a zero mask', () => {
    const a = example(5, 0);
    const b = example(11, 1);
    const batch = collateBatch([[a], [b]], { padId: 1 });
    expect([batch.B, batch.T]).toEqual([2, 16]);
    expect(Array.from(batch.inputIds.slice(0, 5))).toEqual(Array.from(a.inputIds));
    expect(Array.from(batch.inputIds.slice(5, 16))).toEqual(Array(11).fill(1));
    expect(Array.from(batch.labels.slice(5, 16))).toEqual(Array(11).fill(IGNORE_INDEX));
    expect(Array.from(batch.attentionMask.slice(16, 32))).toEqual([...Array(11).fill(1), ...Array(5).fill(0)]);
    expect(batch.positionIds).toBeUndefined();
    expect(batch.tokens).toBe(16);
    expect(batch.targets).toBe(2 + 5);
    expect(collateBatch([[a], [b]], { padId: 1, padMultiple: 1 }).T).toBe(11);
    expect(collateBatch([[b]], { padId: 1, maxTokens: 12 }).T).toBe(12);
  });

  it('packs with per-example positions and segments', () => {
    const batch = collateBatch([[example(3, 0), example(2, 1)], [example(4, 2)]], { padId: 1, packing: true, padMultiple: 1 });
    expect(batch.T).toBe(5);
    expect(Array.from(batch.positionIds!)).toEqual([0, 1, 2, 0, 1, 0, 1, 2, 3, 0]);
    expect(Array.from(batch.segmentIds!)).toEqual([1, 1, 1, 2, 2, 1, 1, 1, 1, 0]);
    expect(batch.labels[3]).toBe(IGNORE_INDEX); // the second example's BOS
    expect(batch.examples).toBe(3);
    expect(() => collateBatch([[example(3, 0), example(2, 1)]], { padId: 1 })).toThrow(/without packing/);
  });
});
