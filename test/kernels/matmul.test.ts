import fc from 'fast-check';
import { describe, it } from 'vitest';
import { matmul } from '../../src/kernels/matmul.js';
import { dim, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { matmulRef } from '../reference/matmul.js';

const gpu = useGpu();

async function run(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Promise<Float32Array> {
  const g = gpu();
  const ba = uploadF32(g, a);
  const bb = uploadF32(g, b);
  const c = g.alloc(M * N * 4);
  matmul(g, ba, bb, c, M, N, K);
  const r = await g.readF32(c, 0, M * N);
  [ba, bb, c].forEach((x) => g.release(x));
  return r;
}

describe('matmul', () => {
  it('matches the float64 reference for random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(dim(70), dim(70), dim(130)).chain(([M, N, K]) => fc.tuple(fc.constant([M, N, K] as const), values(M * K, 100), values(K * N, 100))),
        async ([[M, N, K], a, b]) => {
          expectClose(await run(a, b, M, N, K), matmulRef(a, b, M, N, K), TOLERANCE.f32, `matmul ${M}x${N}x${K}`);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('fixed case: 2x3 by 3x2', async () => {
    const r = await run(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(7, 8, 9, 10, 11, 12), 2, 2, 3);
    expectClose(r, [58, 64, 139, 154], TOLERANCE.f32);
  });
});
