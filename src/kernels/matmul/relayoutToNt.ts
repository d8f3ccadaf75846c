import type { Gpu } from '../runtime/device.js';
import type { MatmulArgs } from './matmulArgs.js';
import { canTranspose, transpose } from './transpose.js';

/**
 * The 'subgroup-nt' variant: transposes A ('tn') and B ('nn', 'tn') into fresh [M, K] and [N, K]
 * buffers, then runs the subgroup kernel in 'nt'. There each lane walks its own rows of A and B
 * along K, 16 bytes per step, four steps to a cache line; in 'tn' every k step of every lane
 * lands on a new row of both operands (a stride of M or N floats), which lavapipe's per-lane
 * loads pay for (see RELAYOUT_NN_MIN_K and RELAYOUT_TN_MIN_MN for the measurements). A transpose
 * is one pass over an operand that the product then reads ⌈N/32⌉ (A) or ⌈M/32⌉ (B) times. Shapes
 * the transpose cannot take (not multiples of 4, a temporary over the binding size limit) run
 * 'subgroup' in place.
 *
 * Records the transposes and returns the product to run next and the temporaries to release after
 * it (matmul runs it, so that this file need not import the dispatcher that imports it).
 */
export function relayoutToNt(gpu: Gpu, args: MatmulArgs): { next: MatmulArgs; temps: GPUBuffer[] } {
  const { a, b, M, N, K, layout = 'nn', batch = 1 } = args;
  const { offsetA = 0, offsetB = 0, offsetC = 0, strideA = M * K, strideB = K * N, strideC = M * N } = args;
  // strideX = 0 shares one operand across the batch: transpose it once.
  const itemsA = strideA === 0 ? 1 : batch;
  const itemsB = strideB === 0 ? 1 : batch;
  const moveA = layout === 'tn';
  const moveB = layout !== 'nt';
  const fits =
    [offsetC, strideC, N].every((x) => x % 4 === 0) &&
    (!moveA || canTranspose(gpu, { R: K, C: M, batch: itemsA, offset: offsetA, stride: strideA })) &&
    (!moveB || canTranspose(gpu, { R: K, C: N, batch: itemsB, offset: offsetB, stride: strideB }));
  if (!fits) return { next: { ...args, variant: 'subgroup' }, temps: [] };
  const next: MatmulArgs = { ...args, layout: 'nt', variant: 'subgroup' };
  const temps: GPUBuffer[] = [];
  if (moveA) {
    const t = gpu.alloc(4 * itemsA * M * K, 'matmul-a-mk');
    transpose(gpu, { src: a, dst: t, R: K, C: M, batch: itemsA, offset: offsetA, stride: strideA });
    Object.assign(next, { a: t, offsetA: 0, strideA: itemsA === 1 ? 0 : M * K });
    temps.push(t);
  }
  if (moveB) {
    const t = gpu.alloc(4 * itemsB * N * K, 'matmul-b-nk');
    transpose(gpu, { src: b, dst: t, R: K, C: N, batch: itemsB, offset: offsetB, stride: strideB });
    Object.assign(next, { b: t, offsetB: 0, strideB: itemsB === 1 ? 0 : N * K });
    temps.push(t);
  }
  return { next, temps };
}
