/**
 * A GPU tensor: one pooled buffer, a shape, and a reference count. Forward code creates a tensor
 * holding one reference and releases it when done; an op that saves a tensor for its backward
 * retains it, and the tape releases it once that backward has run. The buffer goes back to the
 * pool when the last reference is dropped, so activations live exactly as long as something needs
 * them, without a garbage collector deciding when GPU memory comes back.
 */
import type { Gpu } from '../kernels/runtime/device.js';

/**
 * Element type of the buffer: activations and parameters are f32; ids and targets are integers;
 * 'f16' is IEEE halves packed two per u32 (inference-only weights, which matmul reads as its B).
 */
export type TensorDType = 'f32' | 'f16' | 'i32' | 'u32';

/** What `Tensor.backward()` needs from the tape that recorded it (tape.ts imports this file). */
export interface BackwardRunner {
  backward(root: Tensor): void;
}

let nextId = 0;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export class Tensor {
  /** Identity for debugging and ordering; tensors are compared by object identity. */
  readonly id = nextId++;
  readonly size: number;
  /** Parameters only: where backward adds this tensor's gradient (zeroed by zeroGrad). */
  grad: Tensor | null = null;
  /** The tape whose op produced this tensor, when one was recording. */
  tape: BackwardRunner | null = null;
  private buf: GPUBuffer | null;
  private refs = 1;
  private onFree: (() => void) | null = null;

  constructor(
    readonly gpu: Gpu,
    buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: TensorDType = 'f32',
  ) {
    this.buf = buffer;
    this.size = elementCount(shape);
  }

  /** A tensor over a fresh pooled buffer (contents undefined). */
  static empty(gpu: Gpu, shape: readonly number[], label = 'tensor', dtype: TensorDType = 'f32'): Tensor {
    return new Tensor(gpu, gpu.alloc(elementCount(shape) * 4, label), shape, dtype);
  }

  static fromArray(gpu: Gpu, data: Float32Array | Int32Array | Uint32Array, shape: readonly number[], label = 'tensor'): Tensor {
    if (data.length !== elementCount(shape)) throw new Error(`kiln: ${data.length} values for shape [${shape}]`);
    const dtype: TensorDType = data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u32';
    return new Tensor(gpu, gpu.upload(data, label), shape, dtype);
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`kiln: tensor #${this.id} [${this.shape}] was released`);
    return this.buf;
  }

  get released(): boolean {
    return this.buf === null;
  }

  /** Another holder keeps this tensor alive until it calls release(). */
  retain(): this {
    if (!this.buf) throw new Error(`kiln: cannot retain released tensor #${this.id}`);
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one returns the buffer to the pool. */
  release(): void {
    if (!this.buf) throw new Error(`kiln: tensor #${this.id} [${this.shape}] released twice`);
    if (--this.refs === 0) {
      this.gpu.release(this.buf);
      this.buf = null;
      this.onFree?.();
    }
  }

  /** Runs `fn` once this tensor's last reference is dropped (a loss frees its unused tape). */
  whenFreed(fn: () => void): void {
    this.onFree = fn;
  }

  /** Reads the tensor back to the host (a sync point: never inside forward or backward). */
  async toArray(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`kiln: toArray() reads f32 tensors; this one is ${this.dtype}`);
    return this.gpu.readF32(this.buffer, 0, this.size);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`kiln: item() needs a one-element tensor, this one is [${this.shape}]`);
    return (await this.toArray())[0]!;
  }

  /** Backpropagates from this scalar through the tape that produced it. */
  backward(): void {
    if (!this.tape) throw new Error('kiln: backward() on a tensor no recording tape produced (was the forward run with gradients?)');
    this.tape.backward(this);
  }
}
