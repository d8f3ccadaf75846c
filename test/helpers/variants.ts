import { afterAll, beforeAll, describe } from 'vitest';
import type { Gpu } from '../../src/kernels/runtime/device.js';
import { forceMemoryBoundShape } from '../../src/kernels/runtime/streaming.js';

/**
 * The memory-bound kernels' layouts (src/kernels/runtime/streaming.ts): lavapipe's with subgroup
 * reductions, lavapipe's with workgroup-memory reductions (devices without `subgroups`), and the
 * GPU one. Each is forced in turn, so every variant runs wherever the tests run.
 */
const VARIANTS = ['cpu', 'cpu-no-subgroups', 'gpu'] as const;

/** Declares `body`'s tests once per layout, inside a describe named after it. */
export function forEachMemoryBoundVariant(gpu: () => Gpu, body: () => void): void {
  describe.each(VARIANTS)('%s layout', (variant) => {
    beforeAll(() => forceMemoryBoundShape(gpu(), variant));
    afterAll(() => forceMemoryBoundShape(gpu(), null));
    body();
  });
}
