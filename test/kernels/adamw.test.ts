import fc from 'fast-check';
import { describe, it } from 'vitest';
import { adamw } from '../../src/kernels/adamw.js';
import { dim, draws, seededValues, values } from '../helpers/arbitraries.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu, uploadF32 } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';
import { forEachMemoryBoundVariant } from '../helpers/variants.js';
import { adamwReference } from '../reference/adamw.js';

const gpu = useGpu();

/** Three AdamW steps on the GPU and in the float64 reference, compared. */
async function threeSteps(c: { param: Float32Array; grads: [Float32Array, Float32Array, Float32Array]; decay: boolean; gradScale?: number; lr: number }) {
  const { param, grads, decay, gradScale, lr } = c;
  const g = gpu();
  const n = param.length;
  const opts = { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: decay ? 0.1 : 0 };
  const bp = uploadF32(g, param);
  const [bm, bv] = [0, 1].map(() => uploadF32(g, new Float32Array(n)));
  const scaleBuf = gradScale === undefined ? undefined : uploadF32(g, [gradScale]);
  const ref = { param: Float64Array.from(param), m: new Float64Array(n), v: new Float64Array(n) };
  for (let step = 1; step <= 3; step++) {
    const bg = uploadF32(g, grads[step - 1]);
    adamw(g, { param: bp, grad: bg, m: bm, v: bv, n, step, gradScale: scaleBuf, ...opts });
    adamwReference(ref, grads[step - 1], { ...opts, step, gradScale: gradScale === undefined ? undefined : Math.fround(gradScale) });
    g.release(bg);
  }
  expectClose(await g.readF32(bp, 0, n), ref.param, TOLERANCE.f32, 'param');
  expectClose(await g.readF32(bm, 0, n), ref.m, TOLERANCE.f32, 'm');
  expectClose(await g.readF32(bv, 0, n), ref.v, TOLERANCE.f32, 'v');
  [bp, bm, bv, scaleBuf].forEach((b) => b && g.release(b));
}

forEachMemoryBoundVariant(gpu, () => {
  describe('adamw', () => {
    it('three steps match torch.optim.AdamW in float64 (decay on/off, gradScale buffer)', async () => {
      const problem = dim(3000).chain((n) =>
        fc.record({
          param: values(n, 10),
          grads: fc.tuple(values(n), values(n), values(n)),
          decay: fc.boolean(),
          gradScale: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
          lr: fc.constantFrom(1e-3, 3e-5, 0.1),
        }),
      );
      await fc.assert(fc.asyncProperty(problem, threeSteps), { numRuns: draws(20) });
    });

    it('fixed case: a gradient near eps, where v carries the step (1 - β2 from float64; a ×40 hunt drew this)', async () => {
      const grads: [Float32Array, Float32Array, Float32Array] = [Float32Array.of(0, 0, 0, 0, 2.482868808328931e-7), new Float32Array(5), new Float32Array(5)];
      await threeSteps({ param: Float32Array.of(0, 0, 0, 0, 0.13460510969161987), grads, decay: false, gradScale: 0.09176645800471306, lr: 0.1 });
    });

    it('fixed case: first step moves each weight by about lr against its gradient sign', async () => {
      const g = gpu();
      const n = 8;
      const param = seededValues(n, 3);
      const grad = seededValues(n, 4);
      const [bp, bg, bm, bv] = [param, grad, new Float32Array(n), new Float32Array(n)].map((a) => uploadF32(g, a));
      adamw(g, { param: bp, grad: bg, m: bm, v: bv, n, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
      expectClose(await g.readF32(bp, 0, n), Array.from(param, (p, i) => p - 0.01 * Math.sign(grad[i])), TOLERANCE.f32, 'param');
    });
  });
});
