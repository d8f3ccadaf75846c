/**
 * The rotary embedding's angles, computed on the host as Hugging Face does in float32: the inverse
 * frequencies 1/θ^(2i/d) (with the llama3 rescaling when the config has it), then for each row's
 * position p the angle f32(p·freq_i), whose cos and sin the kernel reads ([rows, d/2] each).
 * Positions are the model's rule (HF's forward: 0..T-1 after what is cached; HF's generate: the
 * count of real tokens before, from the attention mask).
 */
import { Tensor } from '../../autograd/tensor.js';
import type { RotaryAngles } from '../../autograd/decoderOps.js';
import type { Gpu } from '../../kernels/runtime/device.js';
import type { LlamaConfig } from './llamaConfig.js';

/** inv_freq [headDim/2] as transformers' default and llama3 rope initialisers give it. */
export function inverseFrequencies(config: LlamaConfig): Float32Array {
  const d = config.headDim;
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / Math.fround(config.ropeTheta ** Math.fround((2 * i) / d));
  const s = config.ropeScaling;
  if (!s) return inv;
  // llama3: wavelengths longer than the original context / low_freq_factor are slowed by `factor`,
  // shorter than context / high_freq_factor kept, and the band between interpolated smoothly.
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > lowWavelen) inv[i] = f / s.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
    }
  }
  return inv;
}

/** cos and sin of every row's angles, uploaded: [positions.length, headDim/2] each. */
export function rotaryAngles(gpu: Gpu, invFreq: Float32Array, positions: ArrayLike<number>): RotaryAngles {
  const half = invFreq.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let r = 0; r < positions.length; r++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[r]! * invFreq[i]!);
      cos[r * half + i] = Math.cos(angle);
      sin[r * half + i] = Math.sin(angle);
    }
  }
  return { cos: Tensor.fromArray(gpu, cos, [positions.length, half], 'rotary-cos'), sin: Tensor.fromArray(gpu, sin, [positions.length, half], 'rotary-sin') };
}

/** HF's forward without position_ids: each row counts from the cache's length, padding or not. */
export function forwardPositions(B: number, T: number, past: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = past + t;
  return p;
}

/**
 * HF's generate: position = cumsum(mask) − 1, and 1 at padding; the last T of Tk columns.
 */
export function generationPositions(mask: Int32Array, B: number, Tk: number, T: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < Tk; t++) {
      const m = mask[b * Tk + t]!;
      count += m;
      if (t >= Tk - T) p[b * T + t - (Tk - T)] = m === 0 ? 1 : count - 1;
    }
  }
  return p;
}
