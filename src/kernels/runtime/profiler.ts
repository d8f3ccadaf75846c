/** Time spent in one kind of kernel while profiling. */
export interface KernelTime {
  /** The kernel's name with its sizes dropped: `matmul-subgroup(nt-vec4)`, `layerNormForward`. */
  kernel: string;
  calls: number;
  /** Summed GPU time between each dispatch's start and end, in milliseconds. */
  ms: number;
}

// WebGPU's cap on a timestamp query set; two queries per dispatch.
const QUERIES = 4096;

/**
 * GPU-side timing of every dispatch (Gpu.startProfiling): each dispatch gets a compute pass of its
 * own whose start and end write timestamps. The query set is reused batch after batch (the queue
 * runs a batch's resolve before the next batch's writes); each batch resolves into buffers of its
 * own, read when the profile is collected. Passes and timestamps add a little work per dispatch,
 * so the sum runs slightly above an unprofiled run. Copies and clears (Gpu.copy, Gpu.clear) run
 * outside compute passes and are not timed.
 */
export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private names: string[] = [];
  private readonly batches: { names: string[]; resolved: GPUBuffer; readback: GPUBuffer }[] = [];

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: QUERIES, label: 'kiln-profile' });
  }

  /** Whether the current batch has room for another dispatch. */
  get full(): boolean {
    return 2 * (this.names.length + 1) > QUERIES;
  }

  /** The pass descriptor for the next dispatch, which `kernel` names. */
  passFor(kernel: string): GPUComputePassDescriptor {
    const i = this.names.length;
    this.names.push(kernel);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Records the resolve of this batch's timestamps at the end of its encoder. */
  endBatch(encoder: GPUCommandEncoder): void {
    const n = 2 * this.names.length;
    if (n === 0) return;
    const bytes = 8 * n;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'kiln-profile-resolve' });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'kiln-profile-read' });
    encoder.resolveQuerySet(this.querySet, 0, n, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    this.batches.push({ names: this.names, resolved, readback });
    this.names = [];
  }

  /**
   * Per kernel kind, slowest first. Call after all profiled work was submitted and has completed
   * (Gpu.stopProfiling syncs first); `map` maps one readback buffer.
   */
  async collect(map: (buffer: GPUBuffer) => Promise<void>): Promise<KernelTime[]> {
    const totals = new Map<string, KernelTime>();
    for (const { names, resolved, readback } of this.batches) {
      await map(readback);
      const t = new BigUint64Array(readback.getMappedRange());
      names.forEach((name, i) => {
        const kernel = kernelKind(name);
        const entry = totals.get(kernel) ?? { kernel, calls: 0, ms: 0 };
        // A pass whose end reads earlier than its start (timestamps may be reset between batches) counts 0.
        entry.ms += t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) / 1e6 : 0;
        entry.calls++;
        totals.set(kernel, entry);
      });
      resolved.destroy();
      readback.destroy();
    }
    this.batches.length = 0;
    return [...totals.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    for (const { resolved, readback } of this.batches) {
      resolved.destroy();
      readback.destroy();
    }
    this.querySet.destroy();
  }
}

/**
 * A dispatch's name without its sizes: every `key=value` argument goes, the rest stays, so
 * `matmul-subgroup(nt-vec4,M=512,N=1024,K=1024,batch=1,flags=0)` is `matmul-subgroup(nt-vec4)` and
 * `layerNormForward(rows=512,cols=1024)` is `layerNormForward`.
 */
export function kernelKind(name: string): string {
  const open = name.indexOf('(');
  if (open < 0 || !name.endsWith(')')) return name;
  const args = name
    .slice(open + 1, -1)
    .split(',')
    .filter((a) => a !== '' && !a.includes('='));
  return args.length > 0 ? `${name.slice(0, open)}(${args.join(',')})` : name.slice(0, open);
}
