import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandKvHeads, reduceKvHeads } from '../../src/kernels/attention/kvHeads.js';
import { dim, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { uploadF32, useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { expandKvReference, reduceKvReference } from '../reference/kvHeads.js';

const gpu = useGpu();

const shapes = fc.record({ rows: dim(40), NKV: dim(5), group: dim(7), HS: dim(40), accumulate: fc.boolean() });

describe('grouped KV heads', () => {
  it('expand repeats each KV head for its group, and reduce sums the group back (overwrite or accumulate)', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapes.chain((s) =>
          fc.record({ s: fc.constant(s), kv: values(s.rows * s.NKV * s.HS), dOut: values(s.rows * s.NKV * s.group * s.HS, 10), prior: s.accumulate ? values(s.rows * s.NKV * s.HS, 10) : fc.constant(undefined) }),
        ),
        async ({ s, kv, dOut, prior }) => {
          const g = gpu();
          const NH = s.NKV * s.group;
          const n = s.rows * NH * s.HS;
          const kvB = uploadF32(g, kv);
          const out = g.alloc(n * 4);
          expandKvHeads(g, { kv: kvB, out, rows: s.rows, NKV: s.NKV, NH, HS: s.HS });
          const dOutB = uploadF32(g, dOut);
          const dKv = prior ? uploadF32(g, prior) : g.alloc(kv.length * 4);
          reduceKvHeads(g, { dOut: dOutB, dKv, rows: s.rows, NKV: s.NKV, NH, HS: s.HS, accumulate: !!prior });
          expect(Array.from(await g.readF32(out, 0, n))).toEqual(Array.from(expandKvReference(kv, s.rows, s.NKV, NH, s.HS)));
          const want = reduceKvReference(dOut, s.rows, s.NKV, NH, s.HS);
          expectClose(await g.readF32(dKv, 0, kv.length), prior ? want.map((v, i) => v + prior[i]!) : want, TOLERANCE.f32, 'dKv');
          for (const b of [kvB, out, dOutB, dKv]) g.release(b);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses heads that are not a multiple of the KV heads', () => {
    const g = gpu();
    const b = g.alloc(64);
    expect(() => expandKvHeads(g, { kv: b, out: b, rows: 1, NKV: 2, NH: 3, HS: 1 })).toThrow(/not a multiple/);
    g.release(b);
  });
});
