/**
 * The KV cache for generation: per layer, the keys and values of every position seen so far, in
 * [B, capacity, H] buffers (the projections' row layout, so attention reads them exactly like
 * uncached k and v, with kvRows = capacity). A step writes its new rows at [length, length + T)
 * of each sequence and the attention kernel reads the first length + T rows.
 *
 * dtype 'f16' stores IEEE halves packed two per u32 (element offsets as in f32): half the memory,
 * and half the bytes each decoding step's attention streams; attention widens them to f32. The
 * writes round to nearest even. A write packs whole u32s, so every row must start on one: H even
 * (OPT's hidden sizes all are).
 */
import { Tensor } from '../autograd/tensor.js';
import { f32ToF16 } from '../kernels/casts.js';
import type { Gpu } from '../kernels/runtime/device.js';

export type KVCacheDtype = 'f32' | 'f16';

export class KVCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  /** Rows filled in every sequence (all sequences advance together; padding is masked). */
  length = 0;

  constructor(
    readonly gpu: Gpu,
    readonly layers: number,
    readonly B: number,
    readonly capacity: number,
    readonly H: number,
    /** OPTForCausalLM.kvCacheDtype is the model's choice: 'f16' for a model loaded with f16 weights. */
    readonly dtype: KVCacheDtype = 'f32',
  ) {
    if (dtype === 'f16' && H % 2 !== 0) {
      throw new Error(`kiln: an f16 KV cache needs an even row length (H=${H}): its rows must start on a u32 of packed halves`);
    }
    const bytes = dtype === 'f16' ? Math.ceil((B * capacity * H) / 2) * 4 : B * capacity * H * 4;
    const shape = [B, capacity, H];
    for (let i = 0; i < layers; i++) {
      this.k.push(new Tensor(gpu, gpu.alloc(bytes, `kv-cache-k${i}`), shape, dtype));
      this.v.push(new Tensor(gpu, gpu.alloc(bytes, `kv-cache-v${i}`), shape, dtype));
    }
  }

  /** Copies one layer's new keys and values ([B, T, H], f32) into rows [length, length + T), rounding to f16 in an f16 cache. */
  write(layer: number, k: Tensor, v: Tensor, T: number): void {
    if (this.length + T > this.capacity) throw new Error(`kiln: KV cache full (${this.length} + ${T} > ${this.capacity})`);
    if (this.dtype === 'f16') {
      // Rows are H halves = H/2 u32s, so each sequence's new rows are one run of whole words.
      const words = (T * this.H) / 2;
      const run = { words, blocks: this.B, srcStride: T * this.H, dstOffset: (this.length * this.H) / 2, dstStride: (this.capacity * this.H) / 2 };
      f32ToF16(this.gpu, { ...run, src: k.buffer, dst: this.k[layer]!.buffer });
      f32ToF16(this.gpu, { ...run, src: v.buffer, dst: this.v[layer]!.buffer });
      return;
    }
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
