import type { Gpu } from '../runtime/device.js';
import { flashAttentionBackward } from './flashAttentionBackward.js';
import { flashAttentionForward } from './flashAttentionForward.js';
import type { AttentionInputs, AttentionVariant } from './masking.js';
import { scoreHeadsPerChunk, scoresAttentionBackward, scoresAttentionForward } from './scoreMatrixAttention.js';

export type { AttentionInputs, AttentionVariant } from './masking.js';

// Causal multi-head attention, HF eager OPT's masking (attention/masking.ts), in two variants:
// 'flash' (flashAttentionForward.ts, flashAttentionBackward.ts) never forms the scores; 'scores'
// (scoreMatrixAttention.ts) runs batched matmuls over score matrices of a chunk of heads at a time.
// On lavapipe at OPT-350m's training shape 'scores' is several times faster in both passes, so
// training runs it; 'flash' serves decoding from a KV cache (Tq < Tk: one or a few query rows,
// where a matmul would be mostly padding) and sequences so long that one head's scores overflow
// the scratch budget.

// Up to 8 query rows the flash forward splits the keys across its lanes (flashAttentionForward.ts)
// and beats the scores' extra dispatches; from 9 rows flash gives each workgroup 64 query rows and
// 'scores' wins but at batch 1 (both choices' measurements: docs/lavapipe-speed.md, "Attention:
// which variant runs").
const MIN_SCORES_ROWS = 9;

/**
 * The variant attentionForward (pass 'forward') or attentionBackward ('backward') runs by default
 * for these shapes on this device.
 */
export function attentionVariant(gpu: Gpu, pass: 'forward' | 'backward', Tq: number, Tk: number): AttentionVariant {
  const fits = scoreHeadsPerChunk(gpu, Tq, Tk, pass === 'forward' ? 1 : 2) >= 1;
  return Tq === Tk && Tq >= MIN_SCORES_ROWS && fits ? 'scores' : 'flash';
}

function checkShape(kernel: string, a: AttentionInputs, Tq: number, Tk: number, kvRows: number): void {
  const shape = `B=${a.B}, NH=${a.NH}, HS=${a.HS}, Tq=${Tq}, Tk=${Tk}, kvRows=${kvRows}`;
  if (!(Tq >= 1 && Tk >= Tq && kvRows >= Tk)) throw new Error(`kiln: ${kernel} needs 1 <= Tq <= Tk <= kvRows (${shape})`);
  if (a.B * a.NH > 65535) throw new Error(`kiln: ${kernel}: B·NH = ${a.B * a.NH} is over 65535 (${shape})`);
}

/** The heads per chunk a forced 'scores' variant runs with; throws if one head does not fit. */
function scoresChunk(gpu: Gpu, kernel: string, Tq: number, Tk: number, matrices: number): number {
  const chunk = scoreHeadsPerChunk(gpu, Tq, Tk, matrices);
  if (chunk < 1) throw new Error(`kiln: ${kernel} variant 'scores': one head's ${matrices} [${Tq}, ${Tk}] score matrices exceed the scratch budget; use 'flash'`);
  return chunk;
}

/**
 * out = softmax(scale·q·kᵀ + causal/padding/segment mask)·v per head, and the softmax's
 * log-sum-exp [B, NH, Tq] when `lse` is given (training). Query i sits at absolute position
 * i + Tk - Tq, so the same call serves prefill (Tq = Tk) and decoding from a KV cache of `kvRows`
 * rows (Tq < Tk). `variant` forces a variant (tests, benches); by default attentionVariant's.
 * `kvDtype: 'f16'` reads k and v as packed halves (an f16 KV cache) in both variants.
 */
export function attentionForward(
  gpu: Gpu,
  a: AttentionInputs & { out: GPUBuffer; lse?: GPUBuffer; Tq: number; Tk: number; kvRows?: number; variant?: AttentionVariant },
): void {
  const { Tq, Tk } = a;
  const kvRows = a.kvRows ?? Tk;
  checkShape('attentionForward', a, Tq, Tk, kvRows);
  const variant = a.variant ?? attentionVariant(gpu, 'forward', Tq, Tk);
  if (variant === 'flash') flashAttentionForward(gpu, { ...a, kvRows });
  else scoresAttentionForward(gpu, { ...a, kvRows, chunk: scoresChunk(gpu, 'attentionForward', Tq, Tk, 1) });
}

/**
 * Backward of `attentionForward` over T query and key rows (training: Tq = Tk = kvRows = T), from
 * the forward's out and lse (of either variant): dQ, dK, dV (overwritten, or added when
 * `accumulate`).
 */
export function attentionBackward(
  gpu: Gpu,
  a: AttentionInputs & {
    out: GPUBuffer;
    lse: GPUBuffer;
    dOut: GPUBuffer;
    dQ: GPUBuffer;
    dK: GPUBuffer;
    dV: GPUBuffer;
    T: number;
    accumulate?: boolean;
    variant?: AttentionVariant;
  },
): void {
  const { T } = a;
  checkShape('attentionBackward', a, T, T, T);
  if (a.kvDtype === 'f16') {
    throw new Error(`kiln: attentionBackward has no f16 k/v (B=${a.B}, NH=${a.NH}, HS=${a.HS}, T=${T}): f16 k and v are for inference; train in f32`);
  }
  const variant = a.variant ?? attentionVariant(gpu, 'backward', T, T);
  if (variant === 'flash') flashAttentionBackward(gpu, a);
  else scoresAttentionBackward(gpu, { ...a, chunk: scoresChunk(gpu, 'attentionBackward', T, T, 2) });
}
