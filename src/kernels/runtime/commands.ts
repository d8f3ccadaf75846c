import { BindGroupCache, type BindGroupStats } from './bindGroups.js';
import type { GpuLimits } from './device.js';
import type { KernelProfiler } from './profiler.js';

/** A slice of a buffer to bind; without offset/size the whole buffer is bound. */
export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** One compute dispatch: what Gpu.dispatch takes (see there). */
export interface Dispatch {
  /** The kernel's name and shapes, e.g. `matmul(M=512,N=1024,K=1024)`: every error it causes names it. */
  kernel: string;
  pipeline: GPUComputePipeline;
  bindings: (GPUBuffer | Binding)[];
  params?: ArrayBuffer | ArrayBufferView;
  workgroups: [number, number?, number?];
}

/**
 * Records dispatches and copies into one command encoder and submits them together: a training
 * step is hundreds of small kernels, and a submit each would cost more than most of them.
 *
 * Bind groups, with the uniform parameters they point at, come from a BindGroupCache: creating
 * one costs more than recording the dispatch. New parameter slots are written with one writeBuffer
 * just before the submit; the queue runs writeBuffer and submits in the order they were issued.
 *
 * Errors: validation and out-of-memory error scopes wrap each batch; their results are collected
 * and thrown by `throwPendingErrors` (called at every readback) with the names and shapes of the
 * kernels in the batch, so a failing kernel surfaces as an Error, not a hang or a silent result.
 */
export class CommandBatch {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private kernels: string[] = [];
  private readonly bindGroups: BindGroupCache;
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  private pendingErrors: Promise<string | null>[] = [];
  /** When set, every dispatch is timed (Gpu.startProfiling). */
  profiler: KernelProfiler | null = null;
  private uncaptured: string | null = null;
  constructor(
    private readonly device: GPUDevice,
    private readonly limits: GpuLimits,
  ) {
    this.bindGroups = new BindGroupCache(device);
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= ev.error.message;
    };
  }

  dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.workgroups;
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > maxWg) {
        throw new Error(`kiln: kernel ${d.kernel}: workgroup count ${x}x${y}x${z} is outside 0..${maxWg} per dimension`);
      }
    }
    const slices: GPUBufferBinding[] = d.bindings.map((b, i) => {
      const binding = 'buffer' in b ? b : { buffer: b };
      const size = binding.size ?? binding.buffer.size - (binding.offset ?? 0);
      if (size > this.limits.maxStorageBufferBindingSize) {
        throw new Error(
          `kiln: kernel ${d.kernel}: binding ${i} ('${binding.buffer.label}') is ${size} bytes, over the device's ` +
            `maxStorageBufferBindingSize of ${this.limits.maxStorageBufferBindingSize}; the kernel must chunk this tensor`,
        );
      }
      return { buffer: binding.buffer, offset: binding.offset ?? 0, size };
    });
    if (x * y * z === 0) return;
    const params = !d.params ? null : ArrayBuffer.isView(d.params) ? new Uint8Array(d.params.buffer, d.params.byteOffset, d.params.byteLength) : new Uint8Array(d.params);
    if (this.bindGroups.full) {
      this.submit();
      this.bindGroups.reset();
    }
    if (this.profiler?.full) this.submit();
    let layout = this.layouts.get(d.pipeline);
    if (!layout) this.layouts.set(d.pipeline, (layout = d.pipeline.getBindGroupLayout(0)));
    // Before anything is recorded: the cache rejects parameters that do not fit a slot.
    const group = this.bindGroups.group(d.pipeline, layout, slices, params, d.kernel);
    this.begin();
    this.kernels.push(d.kernel);
    // Profiled, every dispatch has a pass of its own (ended below), so none is open here.
    this.pass ??= this.encoder!.beginComputePass(this.profiler?.passFor(d.kernel));
    this.pass.setPipeline(d.pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.begin();
    this.endPass();
    this.kernels.push(`copy(${bytes} bytes)`);
    this.encoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.begin();
    this.endPass();
    this.kernels.push(`clear(${bytes} bytes)`);
    this.encoder!.clearBuffer(buffer, offset, bytes);
  }

  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.endBatch(this.encoder);
    this.bindGroups.upload();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    const kernels = this.kernels;
    this.kernels = [];
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.pendingErrors.push(
      Promise.all([validation, oom]).then(([v, o]) => {
        const err = o ?? v;
        if (!err) return null;
        const kind = o ? 'out of memory' : 'validation error';
        return `GPU ${kind} in a batch of ${kernels.length} commands (${summarize(kernels)}): ${err.message}`;
      }),
    );
  }

  async throwPendingErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const messages = (await Promise.all(pending)).filter((m): m is string => m !== null);
    const uncaptured = this.uncaptured;
    this.uncaptured = null;
    if (messages.length > 0) throw new Error(`kiln: ${messages[0]}`);
    if (uncaptured) throw new Error(`kiln: GPU error: ${uncaptured}`);
  }

  /** How often dispatches found their bind group already made. */
  bindGroupStats(): BindGroupStats {
    return this.bindGroups.stats();
  }

  /** Drops recorded work without submitting it (used when the device goes away). */
  discard(): void {
    if (this.pass) this.pass.end();
    this.pass = null;
    this.encoder = null;
    this.kernels = [];
    this.bindGroups.destroy();
  }

  private begin(): void {
    if (this.encoder) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder({ label: 'kiln-batch' });
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

/** The distinct kernels of a batch, most recent last, short enough for an error message. */
function summarize(kernels: string[]): string {
  const distinct = [...new Set(kernels)];
  return distinct.length <= 6 ? distinct.join(', ') : `${distinct.slice(0, 3).join(', ')}, ..., ${distinct.slice(-3).join(', ')}`;
}
