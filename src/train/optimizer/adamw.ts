/**
 * AdamW over the model's parameters, exactly as torch.optim.AdamW (decoupled weight decay,
 * bias-corrected moments), one `adamw` kernel launch per parameter. Weight decay applies only to
 * parameters the model marks `decay` (transformers' Trainer: every weight, never biases or layer
 * norms). The moments live on the GPU; `saveState`/`loadState` move them through safetensors
 * (`m.<name>`, `v.<name>`, and the step count in the metadata).
 */
import { adamw } from '../../kernels/adamw.js';
import type { Gpu } from '../../kernels/runtime/device.js';
import { fill } from '../../kernels/elementwise.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../model/checkpoint/safetensors.js';

/** What the optimizer needs of a model parameter (src/model's Parameter has all of it). */
export interface TrainableParameter {
  shape: readonly number[];
  size: number;
  data: { buffer: GPUBuffer };
  grad: { buffer: GPUBuffer };
  decay: boolean;
}

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { lr: 5e-5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };

interface Slot {
  name: string;
  param: TrainableParameter;
  m: GPUBuffer;
  v: GPUBuffer;
}

export class AdamW {
  readonly options: AdamWOptions;
  /** Optimizer steps taken (torch's `state['step']`), used for bias correction. */
  stepCount = 0;
  private readonly slots: Slot[];

  constructor(
    private readonly gpu: Gpu,
    params: ReadonlyArray<readonly [string, TrainableParameter]>,
    options: Partial<AdamWOptions> = {},
  ) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    this.slots = params.map(([name, param]) => {
      const m = gpu.alloc(param.size * 4, `adamw-m:${name}`);
      const v = gpu.alloc(param.size * 4, `adamw-v:${name}`);
      fill(gpu, m, param.size, 0);
      fill(gpu, v, param.size, 0);
      return { name, param, m, v };
    });
  }

  /**
   * Queues one update of every parameter. `gradScale` (f32 [1] on the GPU, e.g. the clip
   * coefficient) multiplies the gradients inside the kernel, so clipping needs no readback.
   */
  step({ lr = this.options.lr, gradScale }: { lr?: number; gradScale?: GPUBuffer } = {}): void {
    this.stepCount++;
    const [beta1, beta2] = this.options.betas;
    for (const { param, m, v } of this.slots) {
      adamw(this.gpu, {
        param: param.data.buffer,
        grad: param.grad.buffer,
        m,
        v,
        n: param.size,
        lr,
        beta1,
        beta2,
        eps: this.options.eps,
        weightDecay: param.decay ? this.options.weightDecay : 0,
        step: this.stepCount,
        gradScale,
      });
    }
  }

  /** Zeroes every gradient: backward adds into them, so once per optimizer step. */
  zeroGrad(): void {
    for (const { param } of this.slots) fill(this.gpu, param.grad.buffer, param.size, 0);
  }

  /** Writes the moments and the step count to a safetensors file (through `<path>.tmp`). */
  async saveState(path: string): Promise<void> {
    const layout = this.slots.flatMap((s) => [
      { name: `m.${s.name}`, shape: s.param.shape },
      { name: `v.${s.name}`, shape: s.param.shape },
    ]);
    // writeSafetensors takes a synchronous iterable, so the moments are all read to the host
    // first: 8 bytes per parameter, transiently (2.6 GB for opt-350m).
    const all: { name: string; data: Float32Array }[] = [];
    for (const s of this.slots) {
      all.push({ name: `m.${s.name}`, data: await this.gpu.readF32(s.m, 0, s.param.size) });
      all.push({ name: `v.${s.name}`, data: await this.gpu.readF32(s.v, 0, s.param.size) });
    }
    writeSafetensors(path, layout, all, { metadata: { format: 'kiln-adamw', step: String(this.stepCount) } });
  }

  /** Restores what `saveState` wrote; every parameter must be present with its shape. */
  loadState(path: string): void {
    const header = readSafetensorsHeader(path);
    const step = Number(header.metadata.step);
    if (!Number.isInteger(step) || step < 0) throw new Error(`${path}: metadata "step" must be a non-negative integer`);
    const byName = new Map(this.slots.map((s) => [s.name, s]));
    const seen = new Set<string>();
    for (const tensor of readSafetensors(path)) {
      const dot = tensor.name.indexOf('.');
      const kind = tensor.name.slice(0, dot);
      const slot = byName.get(tensor.name.slice(dot + 1));
      if ((kind !== 'm' && kind !== 'v') || !slot) throw new Error(`${path}: unexpected tensor "${tensor.name}"`);
      if (tensor.data.length !== slot.param.size) {
        throw new Error(`${path}: "${tensor.name}" has shape [${tensor.shape}], the parameter has [${slot.param.shape}]`);
      }
      this.gpu.write(kind === 'm' ? slot.m : slot.v, tensor.data);
      seen.add(tensor.name);
    }
    const missing = this.slots.flatMap((s) => [`m.${s.name}`, `v.${s.name}`]).filter((n) => !seen.has(n));
    if (missing.length > 0) throw new Error(`${path}: missing optimizer state for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    this.stepCount = step;
  }

  release(): void {
    for (const s of this.slots) {
      this.gpu.release(s.m);
      this.gpu.release(s.v);
    }
  }
}
