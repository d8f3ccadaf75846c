/**
 * The tape: every differentiable op run while a tape records appends one record (which op, its
 * inputs, its output, what it saved), and `backward(root)` replays the records in reverse through
 * the gradient table (gradients.ts, which imports only this file's types). Activation gradients live in a map keyed by tensor: the first
 * contribution to a gradient overwrites a fresh buffer (no zeroing pass), later ones add, and a
 * gradient is released as soon as the op that produced its tensor has consumed it. Parameter
 * gradients are never overwritten: backward adds into them, and the optimizer zeroes them once
 * per step. Saved activations are released right after their op's backward, so memory falls as
 * backward walks down the network. Nothing here reads back from the GPU.
 */
import type { Gpu } from '../kernels/runtime/device.js';
import { fill } from '../kernels/elementwise.js';
import { gradients } from './gradients.js';
import { type BackwardRunner, Tensor } from './tensor.js';

/**
 * One recorded op. `y` is the output; the other tensor fields are its differentiable inputs and
 * what its backward reads. Host-side fields (ids, shapes, seeds) are what the kernels need again.
 */
export type OpRecord =
  | { op: 'linear'; x: Tensor; w: Tensor; b: Tensor | null; y: Tensor; relu: boolean }
  | {
      op: 'embedding';
      ids: Uint32Array;
      table: Tensor;
      /** A tensor the lookup was added to (token embeddings plus positions), or null. */
      base: Tensor | null;
      y: Tensor;
      /** A table row that gets no gradient (nn.Embedding's padding_idx). */
      skipId: number | undefined;
    }
  | { op: 'layerNorm'; x: Tensor; gamma: Tensor | null; beta: Tensor | null; mean: Tensor; rstd: Tensor; y: Tensor }
  | {
      op: 'attention';
      q: Tensor;
      k: Tensor;
      v: Tensor;
      y: Tensor;
      lse: Tensor;
      mask: Tensor | null;
      segmentIds: Tensor | null;
      everyRowSeesAKey?: boolean;
      B: number;
      NH: number;
      HS: number;
      T: number;
      scale: number;
    }
  | { op: 'add'; a: Tensor; b: Tensor; y: Tensor }
  | { op: 'rmsNorm'; x: Tensor; gamma: Tensor; rstd: Tensor; y: Tensor; cols: number }
  | { op: 'rotary'; x: Tensor; cos: Tensor; sin: Tensor; y: Tensor; rows: number; heads: number; HS: number }
  | { op: 'gatedMlp'; gate: Tensor; up: Tensor; y: Tensor }
  | { op: 'expandKv'; x: Tensor; y: Tensor; rows: number; NKV: number; NH: number; HS: number }
  | { op: 'dropout'; x: Tensor; y: Tensor; p: number; seed: number; offset: number }
  | {
      op: 'lmHeadCrossEntropy';
      h: Tensor;
      table: Tensor;
      /** The rows of h that went through the head: h itself, or the rows listed in `kept`, gathered. */
      source: Tensor;
      kept: Int32Array | null;
      /** One per row of `source`. */
      targets: Tensor;
      rows: number;
      /** Rows per logits chunk, so a chunk's binding fits maxStorageBufferBindingSize. */
      chunkRows: number;
      /** The loss is Σ CE / denominator. */
      denominator: number;
      y: Tensor;
    };

export type OpName = OpRecord['op'];

/** Where a backward writes one input's gradient, and whether it must add to what is there. */
export interface GradTarget {
  tensor: Tensor;
  accumulate: boolean;
}

/** A backward function of the table: reads `dY` (the output's gradient) and the record. */
export type BackwardFn<R extends OpRecord> = (tape: Tape, record: R, dY: Tensor) => void;
export type GradientTable = { [K in OpName]: BackwardFn<Extract<OpRecord, { op: K }>> };

interface Entry {
  record: OpRecord;
  saved: Tensor[];
}

export class Tape implements BackwardRunner {
  private entries: Entry[] = [];
  private grads = new Map<Tensor, Tensor>();
  private seed: Tensor | null = null;
  private done = false;

  constructor(readonly gpu: Gpu) {}

  /** Appends an op; `saved` are the tensors its backward reads (retained until then). */
  record(record: OpRecord, saved: Tensor[]): void {
    if (this.done) throw new Error('kiln: this tape has already run backward or was disposed');
    for (const t of saved) t.retain();
    record.y.tape = this;
    this.entries.push({ record, saved });
  }

  get length(): number {
    return this.entries.length;
  }

  /** Backward has run, or the tape was disposed: it holds nothing any more. */
  get spent(): boolean {
    return this.done;
  }

  /**
   * Replays the tape from `root`, a one-element tensor whose gradient is 1. Each op's backward
   * runs only if its output received a gradient. Afterwards the tape is spent (as PyTorch's graph
   * without retain_graph): its saved tensors are all released.
   */
  backward(root: Tensor): void {
    if (this.done) throw new Error('kiln: backward() ran twice on one tape (run the forward again)');
    if (root.size !== 1) throw new Error(`kiln: backward() starts from a scalar, got shape [${root.shape}]`);
    if (root.tape !== this) throw new Error('kiln: backward() root was not produced by this tape');
    this.seed = Tensor.fromArray(this.gpu, new Float32Array([1]), [1], 'seed-gradient');
    this.grads.set(root, this.seed);
    try {
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const { record, saved } = this.entries[i]!;
        const dY = this.grads.get(record.y);
        if (dY) {
          (gradients[record.op] as BackwardFn<OpRecord>)(this, record, dY);
          this.grads.delete(record.y);
          dY.release();
        }
        for (const t of saved) t.release();
        this.entries.length = i;
      }
    } finally {
      this.dispose();
    }
  }

  /** True when `dY` is the seed gradient 1 of backward's root (ops that need the scale on the host). */
  isSeed(dY: Tensor): boolean {
    return dY === this.seed;
  }

  /**
   * The gradient buffer for input `x`, or null when `x` needs none (a leaf without `.grad`).
   * Parameters (leaves with `.grad`) always accumulate. An activation's first contribution gets a
   * fresh buffer to overwrite; `addsOnly` is for kernels that can only add (parameter-gradient
   * kernels), so a fresh buffer is zeroed first.
   */
  gradTarget(x: Tensor, addsOnly = false): GradTarget | null {
    if (x.grad) return { tensor: x.grad, accumulate: true };
    if (x.tape !== this) return null;
    const existing = this.grads.get(x);
    if (existing) return { tensor: existing, accumulate: true };
    const fresh = Tensor.empty(this.gpu, x.shape, 'activation-grad');
    this.grads.set(x, fresh);
    if (addsOnly) {
      fill(this.gpu, fresh.buffer, fresh.size, 0);
      return { tensor: fresh, accumulate: true };
    }
    return { tensor: fresh, accumulate: false };
  }

  /** Releases everything the tape holds, e.g. for a forward whose loss is never backpropagated. */
  dispose(): void {
    if (this.done) return;
    this.done = true;
    for (const { saved } of this.entries) for (const t of saved) t.release();
    this.entries = [];
    for (const g of this.grads.values()) g.release();
    this.grads.clear();
    this.seed = null;
  }
}
