/**
 * The KV cache for generation: per layer, the keys and values of every position seen so far, in
 * [B, capacity, H] buffers (the projections' row layout, so attention reads them exactly like
 * uncached k and v, with kvRows = capacity). A step writes its new rows at [length, length + T)
 * of each sequence and the attention kernel reads the first length + T rows.
 */
import { Tensor } from '../autograd/tensor.js';
import type { Gpu } from '../kernels/device.js';

export class KVCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  /** Rows filled in every sequence (all sequences advance together; padding is masked). */
  length = 0;

  constructor(
    readonly gpu: Gpu,
    layers: number,
    readonly B: number,
    readonly capacity: number,
    readonly H: number,
  ) {
    for (let i = 0; i < layers; i++) {
      this.k.push(Tensor.empty(gpu, [B, capacity, H], `kv-cache-k${i}`));
      this.v.push(Tensor.empty(gpu, [B, capacity, H], `kv-cache-v${i}`));
    }
  }

  /** Copies one layer's new keys and values ([B, T, H]) into rows [length, length + T). */
  write(layer: number, k: Tensor, v: Tensor, T: number): void {
    if (this.length + T > this.capacity) throw new Error(`kiln: KV cache full (${this.length} + ${T} > ${this.capacity})`);
    const rowBytes = this.H * 4;
    for (let b = 0; b < this.B; b++) {
      const src = b * T * rowBytes;
      const dst = (b * this.capacity + this.length) * rowBytes;
      this.gpu.copy(k.buffer, src, this.k[layer]!.buffer, dst, T * rowBytes);
      this.gpu.copy(v.buffer, src, this.v[layer]!.buffer, dst, T * rowBytes);
    }
  }

  /** Marks T more rows filled, after every layer has written them. */
  advance(T: number): void {
    this.length += T;
  }

  release(): void {
    for (const t of [...this.k, ...this.v]) t.release();
    this.k.length = 0;
    this.v.length = 0;
  }
}
