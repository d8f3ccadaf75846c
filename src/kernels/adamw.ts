import type { Gpu } from './runtime/device.js';
import { Params } from './runtime/params.js';
import { bindableRanges } from './runtime/slices.js';
import { memoryBoundShape, shapeKey, streamGrid, streamLoopWgsl, type MemoryBoundShape } from './runtime/streaming.js';

// torch.optim.AdamW (non-amsgrad, non-fused) one element per lane, vec4 when n allows:
//   p ← p·(1 - lr·wd);  m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²
//   p ← p - (lr / (1-β1ᵗ)) · m / (sqrt(v) / sqrt(1-β2ᵗ) + eps)
// with g = grad·gradScale[0]: the clip coefficient stays on the GPU, so clipping needs no readback.
// Bias corrections and 1 - β are computed on the host in float64, as torch does in Python (1 - β2
// from float32's β2 would be 1.3e-5 off for 0.999, and v with it). Lanes stream
// through the four arrays in the adapter's layout (streaming.ts): 7 accesses per element, so on
// lavapipe the layout, not the arithmetic, sets the speed.
const wgsl = (s: MemoryBoundShape, w: 1 | 4) => /* wgsl */ `
alias V = ${w === 4 ? 'vec4f' : 'f32'};
struct P { n: u32, nx: u32, decay: f32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32, eps: f32, stepSize: f32, sqrtBc2: f32, scaled: u32 }
@group(0) @binding(0) var<storage, read_write> param: array<V>;
@group(0) @binding(1) var<storage, read> grad: array<V>;
@group(0) @binding(2) var<storage, read_write> m: array<V>;
@group(0) @binding(3) var<storage, read_write> v: array<V>;
@group(0) @binding(4) var<storage, read> gradScale: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(${s.lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let scale = select(1.0, gradScale[0], p.scaled != 0u);${streamLoopWgsl(
  s,
  `let g = grad[i] * scale;
    let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
    let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * p.decay - p.stepSize * mi / (sqrt(vi) / p.sqrtBc2 + p.eps);`,
)}
}`;

/**
 * One AdamW step over n parameters (step counts from 1). weightDecay 0 turns decay off (biases,
 * layer norms); `gradScale`, an f32 [1] buffer, multiplies the gradient (the clip coefficient).
 */
export function adamw(
  gpu: Gpu,
  a: {
    param: GPUBuffer; grad: GPUBuffer; m: GPUBuffer; v: GPUBuffer; n: number;
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; gradScale?: GPUBuffer;
  },
): void {
  const { n, lr, beta1, beta2, step } = a;
  if (!(step >= 1)) throw new Error(`kiln: adamw: step counts from 1, got ${step}`);
  const w = n % 4 === 0 ? 4 : 1;
  const stepSize = lr / (1 - beta1 ** step);
  const sqrtBc2 = Math.sqrt(1 - beta2 ** step);
  const s = memoryBoundShape(gpu);
  const dummy = a.gradScale ? null : gpu.alloc(16, 'adamw-unscaled');
  for (const r of bindableRanges(gpu.limits, n / w, [4 * w])) {
    const slice = (buffer: GPUBuffer) => ({ buffer, offset: r.start * 4 * w, size: r.count * 4 * w });
    const { workgroups, nx } = streamGrid(gpu, s, r.count);
    gpu.dispatch({
      kernel: `adamw(n=${n})`,
      pipeline: gpu.pipeline(`adamw_w${w}_${shapeKey(s)}`, wgsl(s, w)),
      bindings: [slice(a.param), slice(a.grad), slice(a.m), slice(a.v), { buffer: a.gradScale ?? dummy!, size: 4 }],
      params: new Params()
        .u32(r.count).u32(nx).f32(1 - lr * a.weightDecay).f32(beta1).f32(beta2).f32(1 - beta1).f32(1 - beta2).f32(a.eps).f32(stepSize).f32(sqrtBc2).u32(a.gradScale ? 1 : 0)
        .bytes(),
      workgroups,
    });
  }
  if (dummy) gpu.release(dummy);
}
