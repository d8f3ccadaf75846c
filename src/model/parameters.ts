/**
 * OPT's parameters on the GPU under their Hugging Face names, and the initialisation HF's
 * `_init_weights` gives a fresh model: Linear and Embedding weights ~ N(0, init_std), biases 0,
 * LayerNorm weight 1 and bias 0, the token embedding's padding row 0.
 */
import { Tensor, elementCount } from '../autograd/tensor.js';
import type { Gpu } from '../kernels/runtime/device.js';
import { f32ToF16Bits } from './checkpoint/dtypes.js';
import { fill } from '../kernels/elementwise.js';
import type { OptConfig } from './opt/optConfig.js';
import type { ParameterSpec } from './parameterSpec.js';
import { SeededRandom } from './random.js';

export class Parameter {
  readonly size: number;
  private gradTensor: Tensor | null = null;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    /** Whether AdamW's weight decay applies (matrices yes; biases and layer norms no). */
    readonly decay: boolean,
    readonly data: Tensor,
  ) {
    this.size = elementCount(shape);
  }

  /**
   * The gradient, which backward adds into. Allocated (zeroed) on first use, so a model used only
   * for inference never holds gradient memory.
   */
  get grad(): Tensor {
    if (!this.gradTensor) {
      this.gradTensor = Tensor.empty(this.data.gpu, this.shape, `grad:${this.name}`);
      fill(this.data.gpu, this.gradTensor.buffer, this.size, 0);
      this.data.grad = this.gradTensor;
    }
    return this.gradTensor;
  }

  get hasGrad(): boolean {
    return this.gradTensor !== null;
  }

  zeroGrad(): void {
    if (this.gradTensor) fill(this.data.gpu, this.gradTensor.buffer, this.size, 0);
  }

  release(): void {
    this.data.release();
    this.gradTensor?.release();
    this.gradTensor = null;
  }
}

/** HF's fresh-model values for one parameter, from a seeded stream (normals drawn in spec order). */
export function initialValues(spec: ParameterSpec, config: OptConfig, rng: SeededRandom): Float32Array {
  const n = elementCount(spec.shape);
  if (spec.name.includes('layer_norm')) return new Float32Array(n).fill(spec.name.endsWith('.weight') ? 1 : 0);
  if (spec.name.endsWith('.bias')) return new Float32Array(n);
  const values = rng.normals(n, config.initStd);
  if (spec.name.endsWith('embed_tokens.weight')) {
    const E = spec.shape[1]!;
    values.fill(0, config.padTokenId * E, (config.padTokenId + 1) * E);
  }
  return values;
}

/** Uploads one parameter's values, in f32 or (inference weights) rounded to f16 and packed two per u32. */
export function uploadParameter(gpu: Gpu, spec: ParameterSpec, data: Float32Array, dtype: 'f32' | 'f16' = 'f32'): Parameter {
  if (data.length !== elementCount(spec.shape)) {
    throw new Error(`kiln: ${spec.name} has ${data.length} values, its shape [${spec.shape}] needs ${elementCount(spec.shape)}`);
  }
  if (dtype === 'f32') return new Parameter(spec.name, spec.shape, spec.decay, Tensor.fromArray(gpu, data, spec.shape, spec.name));
  const halves = new Uint16Array(data.length + (data.length % 2));
  for (let i = 0; i < data.length; i++) halves[i] = f32ToF16Bits(data[i]!);
  const buffer = gpu.upload(new Uint32Array(halves.buffer), spec.name);
  return new Parameter(spec.name, spec.shape, spec.decay, new Tensor(gpu, buffer, spec.shape, 'f16'));
}
