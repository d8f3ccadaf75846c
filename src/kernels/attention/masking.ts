import type { Gpu } from '../runtime/device.js';

// What both attention variants ('flash': flashAttentionForward.ts, flashAttentionBackward.ts;
// 'scores': scoreMatrixAttention.ts) share: the inputs, and how hidden scores behave.
//
// Masking follows Hugging Face's eager OPT exactly: a hidden score (causal, a padding key, a key
// of another packed segment) becomes f32's lowest value (not -inf), so a query row that sees no
// key at all (left padding) has all-equal scores and attends uniformly to all Tk keys, finite,
// never NaN. Its lse is LOWEST + log Tk, which rounds to LOWEST: that value marks such rows for
// backward.
//
// Backward is PyTorch's autograd through HF's `scores + mask`: dS = P(dP - D) for every key. A
// hidden key in a row that sees some key has P = 0, so nothing flows; a row that saw no key has
// P = 1/Tk everywhere, so it passes dV += dOut/Tk and dS = (dP - D)/Tk to q and to every key's k
// (the golden fixtures' gradients depend on it).

export interface AttentionInputs {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  B: number;
  NH: number;
  HS: number;
  /** u32 [B, kvRows], 1 real / 0 padding */
  mask?: GPUBuffer;
  /** u32 [B, Tk]: keys are visible only within the query's segment (packing) */
  segmentIds?: GPUBuffer;
  scale: number;
  /**
   * The caller vouches that every query row sees at least one key (`everyRowSeesAKey` of the mask
   * and segments: true for right-padded batches, false under left padding). 'scores' then skips
   * the causal half of the scores under a mask too; a row that sees no key attends to all Tk keys,
   * which skipping would get wrong. Default false.
   */
  everyRowSeesAKey?: boolean;
  /**
   * How k and v are stored: 'f16' is IEEE halves packed two per u32 (element offsets as in f32),
   * widened to f32 on read, all arithmetic f32 (an f16 KV cache). Forward only. Default 'f32'.
   */
  kvDtype?: 'f32' | 'f16';
}

/** Bytes of a k or v binding of `elements` elements stored as `kvDtype`. */
export const kvBytes = (a: AttentionInputs, elements: number) => (a.kvDtype === 'f16' ? Math.ceil(elements / 2) * 4 : elements * 4);

/** Which kernels run: see attention.ts. */
export type AttentionVariant = 'flash' | 'scores';

// Optional inputs and modes are runtime flags, not shader variants: lavapipe compiles a kernel
// for seconds, so one pipeline serves every call. An absent mask or segment buffer is bound to a
// small dummy that the flag keeps unread.
export const HAS_MASK = 1;
export const HAS_SEG = 2;

export const LOWEST = '-0x1.fffffep+127f'; // f32's lowest finite value, -3.4028235e38

/** WGSL condition on a row's `lse`: the row saw no key (its lse is LOWEST). */
export const BLIND = 'lse < -1.0e38';

/** The mask and segment bindings, or small dummies the flags keep unread. Returns a release callback. */
export function optionalBindings(gpu: Gpu, a: AttentionInputs, maskRows: number, segRows: number): { list: { buffer: GPUBuffer; size: number }[]; release: () => void } {
  const dummy = a.mask && a.segmentIds ? null : gpu.alloc(16, 'attention-unused');
  return {
    list: [
      a.mask ? { buffer: a.mask, size: a.B * maskRows * 4 } : { buffer: dummy!, size: 16 },
      a.segmentIds ? { buffer: a.segmentIds, size: a.B * segRows * 4 } : { buffer: dummy!, size: 16 },
    ],
    release: () => dummy && gpu.release(dummy),
  };
}

/**
 * Whether every query row t of each of B sequences of T tokens sees some key: an unmasked key
 * j <= t in t's segment (mask [B, T], 1 real / 0 padding, null for none; segments [B, T] or null).
 * Right padding leaves every row a key (row t sees the sequence's first token), left padding and
 * the padding between packed segments do not.
 */
export function everyRowSeesAKey(mask: ArrayLike<number> | null, segmentIds: ArrayLike<number> | null, B: number, T: number): boolean {
  for (let b = 0; b < B; b++) {
    const segmentsWithAKey = new Set<number>();
    for (let t = 0; t < T; t++) {
      const segment = segmentIds ? segmentIds[b * T + t]! : 0;
      if (!mask || mask[b * T + t] !== 0) segmentsWithAKey.add(segment);
      if (!segmentsWithAKey.has(segment)) return false;
    }
  }
  return true;
}

export const maskFlags = (a: AttentionInputs) => (a.mask ? HAS_MASK : 0) | (a.segmentIds ? HAS_SEG : 0);
