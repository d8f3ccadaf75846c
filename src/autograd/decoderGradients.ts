/**
 * The gradient table's entries for decoderOps.ts (merged into gradients.ts's table), under the
 * same conventions: tape.gradTarget says where each input's gradient goes and whether it adds.
 */
import { gatedMlpBackward } from '../kernels/gatedMlp.js';
import { reduceKvHeads } from '../kernels/attention/kvHeads.js';
import { rmsNormBackward } from '../kernels/norms/rmsNorm.js';
import { rotaryEmbedding } from '../kernels/attention/rotary.js';
import type { GradientTable } from './tape.js';
import { Tensor } from './tensor.js';

type DecoderOps = 'rmsNorm' | 'rotary' | 'gatedMlp' | 'expandKv';

export const decoderGradients: Pick<GradientTable, DecoderOps> = {
  // y = x·rstd·γ per row of `cols`.
  rmsNorm(tape, { x, gamma, rstd, cols }, dY) {
    const dX = tape.gradTarget(x);
    const dGamma = tape.gradTarget(gamma, true);
    const scratch = dX ? null : Tensor.empty(tape.gpu, x.shape, 'unused-grad');
    rmsNormBackward(tape.gpu, {
      dY: dY.buffer,
      x: x.buffer,
      gamma: gamma.buffer,
      rstd: rstd.buffer,
      dX: (dX?.tensor ?? scratch!).buffer,
      dGamma: dGamma?.tensor.buffer,
      rows: x.size / cols,
      cols,
      accumulate: dX?.accumulate ?? false,
    });
    scratch?.release();
  },

  // A rotation's backward is the rotation by the opposite angle.
  rotary(tape, { x, cos, sin, rows, heads, HS }, dY) {
    const dX = tape.gradTarget(x);
    if (!dX) return;
    rotaryEmbedding(tape.gpu, { x: dY.buffer, cos: cos.buffer, sin: sin.buffer, y: dX.tensor.buffer, rows, heads, HS, inverse: true, accumulate: dX.accumulate });
  },

  // y = silu(gate)·up.
  gatedMlp(tape, { gate, up }, dY) {
    const gpu = tape.gpu;
    const dGate = tape.gradTarget(gate);
    const dUp = tape.gradTarget(up);
    if (!dGate && !dUp) return;
    const scratch = dGate && dUp ? null : Tensor.empty(gpu, gate.shape, 'unused-grad');
    gatedMlpBackward(gpu, {
      gate: gate.buffer,
      up: up.buffer,
      dH: dY.buffer,
      dGate: (dGate?.tensor ?? scratch!).buffer,
      dUp: (dUp?.tensor ?? scratch!).buffer,
      n: gate.size,
      accumulateGate: dGate?.accumulate ?? false,
      accumulateUp: dUp?.accumulate ?? false,
    });
    scratch?.release();
  },

  // Each KV head's gradient is the sum of its query heads'.
  expandKv(tape, { x, rows, NKV, NH, HS }, dY) {
    const dX = tape.gradTarget(x);
    if (!dX) return;
    reduceKvHeads(tape.gpu, { dOut: dY.buffer, dKv: dX.tensor.buffer, rows, NKV, NH, HS, accumulate: dX.accumulate });
  },
};
