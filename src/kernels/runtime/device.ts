import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import type { BindGroupStats } from './bindGroups.js';
import { BufferPool } from './buffers.js';
import { PipelineCache } from './pipelines.js';
import { KernelProfiler, type KernelTime } from './profiler.js';
import { CommandBatch, type Dispatch } from './commands.js';
import { waitForDawn } from './waiting.js';
import { decideSubgroupWidth, probeSubgroupLanes, type SubgroupWidth } from './subgroupWidth.js';

/** What the device granted, so kernels can pick variants; every optional path has a fallback. */
export interface GpuFeatures {
  /** `shader-f16`: f16 storage and arithmetic in WGSL. */
  f16: boolean;
  /** `subgroups`: subgroupBroadcast/subgroupAdd and friends. */
  subgroups: boolean;
  /** `timestamp-query`: GPU-side timing for benchmarks. */
  timestampQuery: boolean;
}

export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** lavapipe/llvmpipe or SwiftShader: kernels tuned for CPU execution fit it better. */
  isSoftware: boolean;
  /** Whether Dawn adds its robust buffer access (see GpuOptions.robustness). */
  robustness: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface GpuOptions {
  /** Dawn backend: 'vulkan', 'metal', 'd3d12', ... Default: env KILN_BACKEND, else Dawn's choice. */
  backend?: string;
  /** Adapter name (as Dawn prints it) when several exist. Default: env KILN_ADAPTER. */
  adapter?: string;
  powerPreference?: GPUPowerPreference;
  /** Print the adapter in use to stderr. Default: env KILN_VERBOSE=1. */
  verbose?: boolean;
  /**
   * Dawn's robust buffer access, which keeps a shader's out-of-range accesses inside its bindings.
   * Default: env KILN_ROBUSTNESS (1 or 0), else on except where the driver checks every access
   * itself (DRIVER_CHECKS_BOUNDS).
   */
  robustness?: boolean;
}

// lavapipe (llvmpipe) checks every storage access against its binding in the shader code it
// generates, with or without Dawn's robustness: stores past a binding are dropped and loads there
// read 0 (the runtime test holds the driver to that). Dawn's robustness on top only costs time:
// the subgroup matmuls ran faster without it (docs/lavapipe-speed.md, "Dawn's robustness").
const DRIVER_CHECKS_BOUNDS = /llvmpipe/i;
const NO_ROBUSTNESS = 'enable-dawn-features=disable_robustness';

// The object create() returns owns Dawn's instance. If it is garbage-collected while a device lives,
// Dawn crashes (measured with webgpu 0.6.2), and dropping it right after a device was destroyed
// crashed too (segfault at exit when the device had run no work). Holding it does not keep Node
// alive (a destroyed device does not), so there is one instance per set of flags for the process.
const instances = new Map<string, ReturnType<typeof create>>();

function dawnInstance(flags: string[]): ReturnType<typeof create> {
  const key = flags.join('\u0000');
  let instance = instances.get(key);
  if (!instance) instances.set(key, (instance = create(flags)));
  return instance;
}

let globalsInstalled = false;

function installGlobals(): void {
  // Mesa warns on every start without it; a private directory is all it wants.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `kiln-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn's bindings hand them over here.
  if (!globalsInstalled) {
    Object.assign(globalThis, globals);
    globalsInstalled = true;
  }
}

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The adapter, and whether its device gets Dawn's robustness (wanted: true, false, or undefined to decide). */
async function requestAdapter(flags: string[], request: GPURequestAdapterOptions, robustnessWanted?: boolean): Promise<{ adapter: GPUAdapter | null; robustness: boolean }> {
  // Dawn takes toggles per instance, so a device without robustness comes from an instance of its
  // own. That one is asked first unless robustness was asked for: on lavapipe, the usual case,
  // one instance is made, not two (each prints Dawn's warnings about lavapipe's limits).
  let adapter: GPUAdapter | null = null;
  let robustness = true;
  if (robustnessWanted !== true) {
    adapter = await dawnInstance([...flags, NO_ROBUSTNESS]).requestAdapter(request);
    // Unless told otherwise, only a driver that checks bounds itself goes without.
    if (adapter && robustnessWanted === undefined && !DRIVER_CHECKS_BOUNDS.test(adapter.info.description)) adapter = null;
    robustness = adapter === null;
  }
  adapter ??= await dawnInstance(flags).requestAdapter(request);
  return { adapter, robustness };
}

/**
 * One WebGPU device with the machinery every kernel uses: a buffer pool, a pipeline cache,
 * dispatches batched into one submit, and a readback that waits without stealing the cores the
 * GPU (or lavapipe's threads) need.
 */
export class Gpu {
  readonly features: GpuFeatures;
  readonly limits: GpuLimits;
  readonly adapter: AdapterSummary;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private readonly batch: CommandBatch;
  private lostReason: string | null = null;
  private destroyed = false;
  private probedSubgroupWidth: SubgroupWidth = { lanes: null, why: 'not probed yet' };

  private constructor(readonly device: GPUDevice, adapter: AdapterSummary) {
    this.adapter = adapter;
    const f = device.features;
    this.features = { f16: f.has('shader-f16'), subgroups: f.has('subgroups'), timestampQuery: f.has('timestamp-query') };
    const l = device.limits;
    this.limits = {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    };
    this.pool = new BufferPool(device, this.limits.maxBufferSize);
    this.pipelines = new PipelineCache(device);
    this.batch = new CommandBatch(device, this.limits);
    device.lost.then((info) => {
      if (this.destroyed) return;
      this.lostReason = `GPU device lost (${info.reason}): ${info.message}`;
      process.stderr.write(`kiln: ${this.lostReason}\n`);
    });
  }

  /** Acquires the adapter and a device with the adapter's maximum limits and the optional features it has. */
  static async create(opts: GpuOptions = {}): Promise<Gpu> {
    installGlobals();
    const backend = opts.backend ?? process.env.KILN_BACKEND;
    const adapterName = opts.adapter ?? process.env.KILN_ADAPTER;
    if (backend === 'null') {
      throw new Error("kiln: Dawn's null backend runs no shaders; choose a real backend (unset KILN_BACKEND)");
    }
    // Dawn rounds timestamps to 65.5 µs by default (a browser's defence against timing attacks),
    // which would give the profiler's short kernels 0 or 65.5 µs each.
    const flags: string[] = ['disable-dawn-features=timestamp_quantization'];
    if (backend) flags.push(`backend=${backend}`);
    if (adapterName) flags.push(`adapter=${adapterName}`);
    const request = { powerPreference: opts.powerPreference ?? 'high-performance' } as const;
    const robustnessWanted = opts.robustness ?? (process.env.KILN_ROBUSTNESS ? envFlag('KILN_ROBUSTNESS') : undefined);
    const { adapter, robustness } = await requestAdapter(flags, request, robustnessWanted);
    if (!adapter) {
      throw new Error(
        'kiln: no WebGPU adapter found. Install a Vulkan/Metal/D3D12 GPU driver, or on Debian run ' +
          '`sudo scripts/setup-cpu-vulkan.sh` for the CPU driver (lavapipe).' +
          (adapterName ? ` (KILN_ADAPTER=${adapterName} matched none)` : ''),
      );
    }
    const info = adapter.info;
    const description = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim();
    if (/null backend|^null/i.test(info.description) || info.vendor === 'null') {
      throw new Error(`kiln: refusing Dawn's null backend (${description}): it runs no shaders`);
    }
    const infoWithSubgroups = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
    const summary: AdapterSummary = {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isSoftware: /llvmpipe|lavapipe|swiftshader|software/i.test(description),
      robustness,
      subgroupMinSize: infoWithSubgroups.subgroupMinSize ?? 0,
      subgroupMaxSize: infoWithSubgroups.subgroupMaxSize ?? 0,
    };

    const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
    const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const key of [
      'maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
      'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage', 'maxBindGroups',
    ] as const) {
      requiredLimits[key] = adapter.limits[key];
    }
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'kiln' });
    const gpu = new Gpu(device, summary);
    try {
      gpu.probedSubgroupWidth = await gpu.probeSubgroupWidth();
    } catch (e) {
      gpu.destroy();
      throw e;
    }
    if (opts.verbose ?? envFlag('KILN_VERBOSE')) {
      process.stderr.write(
        `kiln: adapter ${description}${summary.isSoftware ? ' (software)' : ''}; Dawn robustness ${robustness ? 'on' : 'off'}; features ` +
          `[${requiredFeatures.join(', ') || 'none'}]; subgroup size ${summary.subgroupMinSize}-${summary.subgroupMaxSize}; ` +
          `kernels assume ${gpu.subgroupWidth.lanes === null ? 'no subgroup size' : `subgroups of ${gpu.subgroupWidth.lanes} lanes`} (${gpu.subgroupWidth.why}); ` +
          `maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize}\n`,
      );
    }
    return gpu;
  }

  /** The subgroup size kernels may build on (subgroupWidth.ts), measured when the device was made. */
  get subgroupWidth(): SubgroupWidth {
    return this.probedSubgroupWidth;
  }

  private async probeSubgroupWidth(): Promise<SubgroupWidth> {
    const { subgroupMinSize: minSize, subgroupMaxSize: maxSize, isSoftware } = this.adapter;
    const reported = { feature: this.features.subgroups, minSize, maxSize, isSoftware };
    const probe = reported.feature && minSize === maxSize && maxSize >= 1 && maxSize <= this.limits.maxComputeInvocationsPerWorkgroup;
    return decideSubgroupWidth(reported, probe ? await probeSubgroupLanes(this, maxSize) : null);
  }

  /** Compiles (once) and returns the pipeline for this WGSL source, entry point and override constants. */
  pipeline(kernel: string, code: string, constants?: Record<string, number>, entryPoint = 'main'): GPUComputePipeline {
    this.check();
    return this.pipelines.get(kernel, code, entryPoint, constants);
  }

  /**
   * Records one compute dispatch into the current batch. Storage buffers bind at 0..n-1 in order and
   * `params` (a small uniform block: u32/i32/f32 packed by the caller) at n. `kernel` names the
   * kernel and its shapes; it appears in every error this dispatch causes.
   */
  dispatch(d: Dispatch): void {
    this.check();
    this.batch.dispatch(d);
  }

  /** Records a buffer-to-buffer copy in order with the dispatches around it. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.check();
    this.batch.copy(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Records zeroing `bytes` bytes of a buffer (multiples of 4) in order with the dispatches around it. */
  clear(buffer: GPUBuffer, byteOffset: number, bytes: number): void {
    this.check();
    this.batch.clear(buffer, byteOffset, bytes);
  }

  /** How many dispatches reused a bind group, how many made one, and how often the cache was emptied. */
  bindGroupStats(): BindGroupStats {
    return this.batch.bindGroupStats();
  }

  /** A pooled storage buffer of at least `bytes` (contents undefined). Return it with `release`. */
  alloc(bytes: number, label = 'tensor'): GPUBuffer {
    this.check();
    return this.pool.acquire(bytes, label);
  }

  release(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /** A pooled buffer holding `data`. */
  upload(data: ArrayBufferView, label = 'upload'): GPUBuffer {
    const buffer = this.alloc(data.byteLength, label);
    this.write(buffer, data);
    return buffer;
  }

  /**
   * Writes host data into a buffer. queue.writeBuffer runs before any dispatch still waiting in the
   * open batch, so pending work is submitted first: otherwise a released-and-reused buffer could be
   * overwritten before an earlier kernel read it.
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.check();
    this.batch.submit();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // writeBuffer wants a multiple of 4 bytes.
    const padded = bytes.byteLength % 4 === 0 ? bytes : (() => {
      const p = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      p.set(bytes);
      return p;
    })();
    this.device.queue.writeBuffer(buffer, byteOffset, padded);
  }

  /** Submits everything recorded so far. One submit per step is the intended rhythm. */
  flush(): void {
    this.check();
    this.batch.submit();
  }

  /**
   * The one way to bring data to the host. Submits pending work, then waits for it without holding
   * a Dawn promise open the whole time (see waiting.ts), and throws any GPU error it caused.
   */
  async read(buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): Promise<ArrayBuffer> {
    this.check();
    if (byteLength === 0) return new ArrayBuffer(0);
    const aligned = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size: aligned, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    try {
      this.batch.copy(buffer, byteOffset, staging, 0, aligned);
      this.batch.submit();
      await waitForDawn(this.adapter.isSoftware, () => staging.mapAsync(GPUMapMode.READ));
      await this.batch.throwPendingErrors();
      this.check();
      return staging.getMappedRange().slice(0, byteLength);
    } finally {
      staging.destroy();
    }
  }

  async readF32(buffer: GPUBuffer, offsetElems = 0, count?: number): Promise<Float32Array> {
    const n = count ?? buffer.size / 4 - offsetElems;
    return new Float32Array(await this.read(buffer, offsetElems * 4, n * 4));
  }

  /** Waits until all submitted work is done, and throws any GPU error it caused. */
  async sync(): Promise<void> {
    this.check();
    this.batch.submit();
    await waitForDawn(this.adapter.isSoftware, () => this.device.queue.onSubmittedWorkDone());
    await this.batch.throwPendingErrors();
    this.check();
  }

  /**
   * Times every dispatch from here on, on the GPU's clock, until stopProfiling. Needs the
   * timestamp-query feature. Each dispatch then runs in a compute pass of its own.
   */
  startProfiling(): void {
    this.check();
    if (!this.features.timestampQuery) throw new Error(`kiln: profiling needs the timestamp-query feature, which ${this.adapter.description} lacks`);
    if (this.batch.profiler) throw new Error('kiln: profiling has already started');
    this.batch.submit();
    this.batch.profiler = new KernelProfiler(this.device);
  }

  /** Waits for the profiled work and returns the GPU time per kind of kernel, slowest first. */
  async stopProfiling(): Promise<KernelTime[]> {
    const profiler = this.batch.profiler;
    if (!profiler) throw new Error('kiln: stopProfiling without startProfiling');
    try {
      await this.sync();
      return await profiler.collect((buffer) => waitForDawn(this.adapter.isSoftware, () => buffer.mapAsync(GPUMapMode.READ)));
    } finally {
      this.batch.profiler = null;
      profiler.destroy();
    }
  }

  /** Destroys the device (and its buffers) so the process can exit. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.batch.profiler?.destroy();
    this.batch.profiler = null;
    this.batch.discard();
    this.pool.destroyAll();
    this.pipelines.clear();
    this.device.destroy();
  }

  private check(): void {
    if (this.destroyed) throw new Error('kiln: this Gpu was destroyed');
    if (this.lostReason) throw new Error(`kiln: ${this.lostReason}`);
  }
}
