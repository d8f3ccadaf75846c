import type { Gpu } from '../runtime/device.js';
import { GEMV_MAX_M } from './gemv.js';
import type { MatmulLayout, MatmulVariant } from './matmulArgs.js';
import { subgroupMatmulLanes } from './subgroupMatmul.js';

// Where lavapipe's subgroup kernel reads a copy in 'nt' instead (relayoutToNt). In 'nn' only a
// long K pays for the copy of B: the dX products (K 1024 or 4096) ran slower copied, the LM head's
// dH (K 50272) faster.
const RELAYOUT_NN_MIN_K = 8192;
// In 'tn' the copies pay only for a large enough C: they cost a pass over K·(M + N) elements and
// two dispatches, the product's gain grows with M·N. Both thresholds' measurements:
// docs/lavapipe-speed.md, "When the subgroup kernel reads a copy in 'nt'".
const RELAYOUT_TN_MIN_MN = 65536;

/** The variant matmul runs for this layout and shape on this device when none is forced. */
export function defaultVariant(gpu: Gpu, layout: MatmulLayout, M: number, N: number, K: number): MatmulVariant {
  if (layout === 'nt' && M <= GEMV_MAX_M) return 'gemv';
  // Only lavapipe runs the subgroup kernel faster than 'tiled'; anywhere, it needs a size it supports.
  if (!(gpu.adapter.isSoftware && subgroupMatmulLanes(gpu).ok)) return 'tiled';
  const copy = layout === 'tn' ? M * N >= RELAYOUT_TN_MIN_MN : layout === 'nn' && K >= RELAYOUT_NN_MIN_K;
  return copy ? 'subgroup-nt' : 'subgroup';
}
