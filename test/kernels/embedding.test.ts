import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingForward } from '../../src/kernels/embedding.js';
import { dim, draws, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { embeddingBackwardReference, embeddingForwardReference } from '../reference/embedding.js';

const gpu = useGpu();
const PAD = 1; // OPT's padding token id

const problem = fc
  .record({ N: dim(70), D: dim(130), V: fc.integer({ min: 2, max: 40 }) })
  .chain(({ N, D, V }) =>
    fc.record({
      N: fc.constant(N),
      D: fc.constant(D),
      V: fc.constant(V),
      ids: fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: N, maxLength: N }),
      table: values(V * D),
      prior: values(N * D),
      dOut: values(N * D),
      priorTable: values(V * D),
      accumulate: fc.boolean(),
    }),
  );

forEachMemoryBoundVariant(gpu, () => {
  describe('embedding', () => {
    it('forward gathers rows (and adds them when accumulating) like the reference', async () => {
      await fc.assert(
        fc.asyncProperty(problem, async ({ N, D, ids, table, prior, accumulate }) => {
          const g = gpu();
          const bIds = g.upload(Uint32Array.from(ids));
          const [bTable, bOut] = [table, prior].map((a) => uploadF32(g, a));
          embeddingForward(g, { ids: bIds, table: bTable, out: bOut, N, D, accumulate });
          const want = embeddingForwardReference(ids, table, D, accumulate ? prior : undefined);
          expectClose(await g.readF32(bOut, 0, N * D), want, TOLERANCE.f32, 'out');
          [bIds, bTable, bOut].forEach((b) => g.release(b));
        }),
        { numRuns: draws(20) },
      );
    });

    it('backward scatter-adds by id, skips the padding row, and repeats bit for bit', async () => {
      await fc.assert(
        fc.asyncProperty(problem, async ({ N, D, V, ids, dOut, priorTable }) => {
          const g = gpu();
          const bdOut = uploadF32(g, dOut);
          const runs: Float32Array[] = [];
          for (let r = 0; r < 2; r++) {
            const bdTable = uploadF32(g, priorTable);
            embeddingBackward(g, { hostIds: Int32Array.from(ids), dOut: bdOut, dTable: bdTable, N, D, skipId: PAD });
            runs.push(await g.readF32(bdTable, 0, V * D));
            g.release(bdTable);
          }
          const want = embeddingBackwardReference(ids, dOut, priorTable, D, PAD);
          expectClose(runs[0], want.dTable, TOLERANCE.f32, 'dTable', want.termScale);
          expect(runs[1]).toEqual(runs[0]);
          g.release(bdOut);
        }),
        { numRuns: draws(20) },
      );
    });

    it('fixed case: a gradient row whose terms cancel from ~2 to ~1e-5 (a 20x hunt drew it)', async () => {
      const g = gpu();
      const D = 2;
      const ids = [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 2, 0];
      const dOut = new Float32Array(ids.length * D);
      dOut[1] = 1.9999874830245972;
      dOut[19] = 2.2346819950058716e-9;
      dOut[22] = -0.0013412748230621219;
      dOut[23] = -1.9998679161071777;
      const priorTable = Float32Array.of(0, -1.9999784231185913, 0, 0, 0.0012084280606359243, 1.9997351169586182);
      const [bdOut, bdTable] = [uploadF32(g, dOut), uploadF32(g, priorTable)];
      embeddingBackward(g, { hostIds: Int32Array.from(ids), dOut: bdOut, dTable: bdTable, N: ids.length, D, skipId: PAD });
      const want = embeddingBackwardReference(ids, dOut, priorTable, D, PAD);
      expectClose(await g.readF32(bdTable, 0, 3 * D), want.dTable, TOLERANCE.f32, 'dTable', want.termScale);
      [bdOut, bdTable].forEach((b) => g.release(b));
    });

    it('fixed case: OPT positions (offset 2) added onto tokens, one repeated id', async () => {
      const g = gpu();
      const D = 3;
      const tokens = Float32Array.from({ length: 5 * D }, (_, i) => i); // 5 tokens
      const positions = Float32Array.from({ length: 6 * D }, (_, i) => 100 * i); // 2 + 4 positions
      const ids = Uint32Array.of(4, 1, 4, 0);
      const pos = Uint32Array.of(2, 3, 4, 5);
      const out = g.alloc(4 * D * 4);
      const [bt, bp, bi, bpi] = [uploadF32(g, tokens), uploadF32(g, positions), g.upload(ids), g.upload(pos)];
      embeddingForward(g, { ids: bi, table: bt, out, N: 4, D });
      embeddingForward(g, { ids: bpi, table: bp, out, N: 4, D, accumulate: true });
      const want = embeddingForwardReference(ids, tokens, D).map((v, i) => v + positions[pos[Math.floor(i / D)] * D + (i % D)]);
      expectClose(await g.readF32(out, 0, 4 * D), want, TOLERANCE.f32, 'tokens+positions');
      const dTable = uploadF32(g, new Float32Array(5 * D));
      const dOut = uploadF32(g, Float32Array.from({ length: 4 * D }, (_, i) => i + 1));
      embeddingBackward(g, { hostIds: ids, dOut, dTable, N: 4, D, skipId: PAD });
      expectClose(await g.readF32(dTable, 0, 5 * D), [10, 11, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 10, 12], TOLERANCE.f32, 'dTable');
    });

    it('handles a table larger than one storage binding (rows past 128 MiB)', async () => {
      const g = gpu();
      const D = 1024;
      const V = Math.ceil(g.limits.maxStorageBufferBindingSize / (4 * D)) + 300;
      const table = new Float32Array(V * D);
      for (let r = 0; r < V; r++) table.fill(r, r * D, (r + 1) * D);
      const ids = Uint32Array.of(V - 1, 0, V - 150, 7, V - 1);
      const N = ids.length;
      const bt = uploadF32(g, table);
      const bi = g.upload(ids);
      const out = g.alloc(N * D * 4);
      embeddingForward(g, { ids: bi, table: bt, out, N, D });
      const got = await g.readF32(out, 0, N * D);
      expect(Array.from(ids, (_, n) => got[n * D + D - 1])).toEqual(Array.from(ids));
      g.write(bt, new Float32Array(V * D)); // reuse as a zeroed gradient table
      const dOut = uploadF32(g, new Float32Array(N * D).fill(0.5));
      embeddingBackward(g, { hostIds: ids, dOut, dTable: bt, N, D });
      expect(Array.from(await g.readF32(bt, (V - 1) * D, 2))).toEqual([1, 1]);
      expect(Array.from(await g.readF32(bt, (V - 150) * D + D - 1, 1))).toEqual([0.5]);
      expect(Array.from(await g.readF32(bt, 7 * D, 1))).toEqual([0.5]);
      [bt, bi, out, dOut].forEach((b) => g.release(b));
    });
  });
});
