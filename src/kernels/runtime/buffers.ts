/**
 * A pool of storage buffers reused by size class. Training allocates the same activation and
 * gradient shapes every step; creating and destroying GPU buffers each time costs more than the
 * small kernels that use them, so released buffers wait here for the next request of their class.
 *
 * A request gets the free buffer of its class that was created first. The buffer a request gets
 * then depends only on which buffers are free, not on the order they were released in, so a step
 * that repeats the last one's requests gets the very same buffers for every tensor, and the bind
 * groups cached for them (bindGroups.ts) are found again. Handed out last-released-first, each step
 * got a permutation of the last one's buffers, and a 350m training step created some 1,500 bind
 * groups anew, step after step.
 */
export class BufferPool {
  /** Per size class, the free buffers in decreasing creation order: the last is the oldest. */
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly created = new WeakMap<GPUBuffer, number>();
  private createdCount = 0;
  private readonly inUse = new Set<GPUBuffer>();
  private bytesInUse = 0;
  private bytesPooled = 0;
  /** Most bytes held at once (in use plus pooled): what the device really had to give. */
  peakBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /**
   * Size classes are quarter steps between powers of two (256, 320, 384, 448, 512, ...), so a
   * buffer wastes at most 25% while similar shapes still share a class.
   */
  static sizeClass(bytes: number): number {
    const b = Math.max(256, Math.ceil(bytes / 4) * 4);
    const pow = 2 ** Math.floor(Math.log2(b));
    const step = pow / 4;
    return Math.ceil(b / step) * step;
  }

  acquire(bytes: number, label: string): GPUBuffer {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`kiln: cannot allocate ${bytes} bytes for ${label}`);
    if (bytes > this.maxBufferSize) {
      throw new Error(`kiln: ${label} needs ${bytes} bytes, over the device's maxBufferSize ${this.maxBufferSize}`);
    }
    let size = BufferPool.sizeClass(bytes);
    if (size > this.maxBufferSize) size = Math.ceil(bytes / 4) * 4;
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.bytesPooled -= size;
    } else {
      buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label,
      });
      this.created.set(buffer, this.createdCount++);
    }
    this.inUse.add(buffer);
    this.bytesInUse += size;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse + this.bytesPooled);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) {
      throw new Error(`kiln: buffer '${buffer.label}' released twice or not from this pool`);
    }
    this.bytesInUse -= buffer.size;
    this.bytesPooled += buffer.size;
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    // Binary search for the place that keeps the list in decreasing creation order.
    const id = this.created.get(buffer)!;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.created.get(list[mid]!)! > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buffer);
  }

  /** Destroys the pooled (free) buffers, e.g. before a phase with different shapes. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytesPooled = 0;
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.bytesInUse = 0;
  }

  stats(): { bytesInUse: number; bytesPooled: number; peakBytes: number; buffersInUse: number; buffersPooled: number } {
    let buffersPooled = 0;
    for (const list of this.free.values()) buffersPooled += list.length;
    return { bytesInUse: this.bytesInUse, bytesPooled: this.bytesPooled, peakBytes: this.peakBytes, buffersInUse: this.inUse.size, buffersPooled };
  }
}
