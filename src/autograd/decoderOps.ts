/**
 * The differentiable ops of the Llama-family decoders (RMS norm, rotary embedding, the SiLU-gated
 * MLP activation, grouped KV heads), with the conventions of ops.ts: each returns a new tensor
 * holding one reference for the caller and records what its backward (decoderGradients.ts, same
 * names) needs when a tape is recording.
 */
import { gatedMlpForward } from '../kernels/gatedMlp.js';
import { expandKvHeads } from '../kernels/attention/kvHeads.js';
import { rmsNormForward } from '../kernels/norms/rmsNorm.js';
import { rotaryEmbedding } from '../kernels/attention/rotary.js';
import type { OpContext } from './ops.js';
import { Tensor } from './tensor.js';

/** RMS norm over groups of `cols` consecutive values (the last dimension by default; head_dim for QK-norm). */
export function rmsNorm(ctx: OpContext, x: Tensor, gamma: Tensor, eps: number, cols = x.shape[x.shape.length - 1]!): Tensor {
  if (x.size % cols !== 0 || gamma.size !== cols) throw new Error(`kiln: rmsNorm of [${x.shape}] over ${cols} columns with gamma [${gamma.shape}]`);
  const rows = x.size / cols;
  const y = Tensor.empty(ctx.gpu, x.shape, 'rms-norm');
  const rstd = Tensor.empty(ctx.gpu, [rows], 'rms-rstd');
  rmsNormForward(ctx.gpu, { x: x.buffer, gamma: gamma.buffer, y: y.buffer, rstd: rstd.buffer, rows, cols, eps });
  ctx.tape?.record({ op: 'rmsNorm', x, gamma, rstd, y, cols }, [x, gamma, rstd]);
  rstd.release();
  return y;
}

/** The per-row rotation angles of a forward: cos and sin, [rows, HS/2] each (not differentiable). */
export interface RotaryAngles {
  cos: Tensor;
  sin: Tensor;
}

/** Rotary embedding of x [rows, heads·HS] (rotate-half pairs within each head). */
export function rotary(ctx: OpContext, x: Tensor, angles: RotaryAngles, heads: number, HS: number): Tensor {
  const rows = x.size / (heads * HS);
  if (!Number.isInteger(rows) || angles.cos.size !== (rows * HS) / 2) throw new Error(`kiln: rotary of [${x.shape}] with ${heads}x${HS} heads and [${angles.cos.shape}] angles`);
  const y = Tensor.empty(ctx.gpu, x.shape, 'rotary');
  rotaryEmbedding(ctx.gpu, { x: x.buffer, cos: angles.cos.buffer, sin: angles.sin.buffer, y: y.buffer, rows, heads, HS });
  ctx.tape?.record({ op: 'rotary', x, cos: angles.cos, sin: angles.sin, y, rows, heads, HS }, [angles.cos, angles.sin]);
  return y;
}

/** silu(gate)·up: the activation between the gated MLP's projections. */
export function gatedMlp(ctx: OpContext, gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size) throw new Error(`kiln: gatedMlp of [${gate.shape}] and [${up.shape}]`);
  const y = Tensor.empty(ctx.gpu, gate.shape, 'gated-mlp');
  gatedMlpForward(ctx.gpu, { gate: gate.buffer, up: up.buffer, h: y.buffer, n: gate.size });
  ctx.tape?.record({ op: 'gatedMlp', gate, up, y }, [gate, up]);
  return y;
}

/**
 * kv [rows, NKV·HS] with each KV head repeated for its NH/NKV query heads: [rows, NH·HS]. Returns
 * x itself (one more reference) when there is nothing to repeat.
 */
export function expandKv(ctx: OpContext, kv: Tensor, NKV: number, NH: number, HS: number): Tensor {
  if (NKV === NH) return kv.retain();
  const rows = kv.size / (NKV * HS);
  const y = Tensor.empty(ctx.gpu, [...kv.shape.slice(0, -1), NH * HS], 'kv-expanded');
  expandKvHeads(ctx.gpu, { kv: kv.buffer, out: y.buffer, rows, NKV, NH, HS });
  ctx.tape?.record({ op: 'expandKv', x: kv, y, rows, NKV, NH, HS }, []);
  return y;
}
