const SLOT = 256; // WebGPU's largest minUniformBufferOffsetAlignment

export interface BindGroupStats {
  /** Dispatches whose bind group was found, and those that had to create one. */
  hits: number;
  misses: number;
  /** Times the cache was emptied because its parameter slots or groups ran out. */
  resets: number;
}

export interface BindGroupCacheOptions {
  /** Parameter blocks held at once (256 bytes each). */
  slots?: number;
  /** Bind groups held at once, over all pipelines. */
  groups?: number;
}

/**
 * Bind groups kept for reuse. Creating one through Dawn's Node bindings costs several times what
 * recording the dispatch that uses it does, and more than a small kernel runs (docs/lavapipe-speed.md,
 * "Dispatch costs"). Training and decoding steps record the same
 * dispatches on the same pooled buffers over and over, so a group is looked up by its pipeline,
 * its buffer slices and its uniform parameters.
 *
 * The parameters therefore live in slots chosen by their bytes: equal parameters always sit at the
 * same offset of one uniform buffer, and a slot is never rewritten while a group can refer to it.
 * New slots are uploaded by `upload`, which the batch calls just before each submit; `reset`
 * (when slots or groups run out) must come after a submit, so that later writes to reused slots are
 * ordered after the work that read them.
 */
export class BindGroupCache {
  readonly params: GPUBuffer;
  private readonly host: Uint8Array;
  private readonly slotOf = new Map<string, number>();
  private readonly groups = new Map<GPUComputePipeline, Map<string, GPUBindGroup>>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private groupCount = 0;
  private slotsUsed = 0;
  private slotsUploaded = 0;
  private readonly maxSlots: number;
  private readonly maxGroups: number;
  private readonly counts: BindGroupStats = { hits: 0, misses: 0, resets: 0 };

  constructor(
    private readonly device: GPUDevice,
    opts: BindGroupCacheOptions = {},
  ) {
    this.maxSlots = opts.slots ?? 4096;
    this.maxGroups = opts.groups ?? 16384;
    if (!(this.maxSlots >= 1 && this.maxGroups >= 1)) throw new Error('kiln: BindGroupCache needs at least one slot and one group');
    this.host = new Uint8Array(SLOT * this.maxSlots);
    this.params = device.createBuffer({ size: this.host.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'kernel-params' });
  }

  /** Whether one more dispatch might not fit (a new slot and a new group): submit, then `reset`. */
  get full(): boolean {
    return this.slotsUsed >= this.maxSlots || this.groupCount >= this.maxGroups;
  }

  /**
   * The bind group for these storage slices (bindings 0..n-1) and parameters (binding n), made on
   * first use. `layout` is the pipeline's group 0. Call only when not `full`. Throws, naming
   * `label`, when the parameters exceed a slot's 256 bytes.
   */
  group(pipeline: GPUComputePipeline, layout: GPUBindGroupLayout, slices: GPUBufferBinding[], params: Uint8Array | null, label: string): GPUBindGroup {
    if (params && params.byteLength > SLOT) throw new Error(`kiln: kernel ${label}: params exceed ${SLOT} bytes`);
    let key = '';
    for (const s of slices) key += `${this.bufferId(s.buffer)}:${s.offset}:${s.size},`;
    const slot = params ? this.slot(params) : -1;
    key += slot;
    let byKey = this.groups.get(pipeline);
    if (!byKey) this.groups.set(pipeline, (byKey = new Map()));
    let group = byKey.get(key);
    if (group) {
      this.counts.hits++;
      return group;
    }
    this.counts.misses++;
    const entries: GPUBindGroupEntry[] = slices.map((resource, binding) => ({ binding, resource }));
    if (params) {
      entries.push({ binding: slices.length, resource: { buffer: this.params, offset: slot * SLOT, size: Math.max(16, Math.ceil(params.byteLength / 16) * 16) } });
    }
    group = this.device.createBindGroup({ layout, entries, label });
    byKey.set(key, group);
    this.groupCount++;
    return group;
  }

  /** Writes the slots made since the last upload into the uniform buffer (before a submit). */
  upload(): void {
    if (this.slotsUsed === this.slotsUploaded) return;
    const from = this.slotsUploaded * SLOT;
    this.device.queue.writeBuffer(this.params, from, this.host, from, this.slotsUsed * SLOT - from);
    this.slotsUploaded = this.slotsUsed;
  }

  /** Forgets every slot and group. Only after a submit (see the class comment). */
  reset(): void {
    if (this.slotsUploaded !== this.slotsUsed) throw new Error('kiln: BindGroupCache reset with parameters not yet uploaded');
    this.slotOf.clear();
    this.groups.clear();
    this.groupCount = 0;
    this.slotsUsed = this.slotsUploaded = 0;
    this.counts.resets++;
  }

  stats(): BindGroupStats {
    return { ...this.counts };
  }

  destroy(): void {
    this.slotOf.clear();
    this.groups.clear();
    this.params.destroy();
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }

  private slot(params: Uint8Array): number {
    // The bytes as a string key: two per UTF-16 unit, the length first so that trailing zeros count.
    let key = `${params.byteLength}:`;
    for (let i = 0; i < params.byteLength; i += 2) key += String.fromCharCode(params[i] | ((params[i + 1] ?? 0) << 8));
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.slotsUsed++;
      this.host.fill(0, slot * SLOT, (slot + 1) * SLOT);
      this.host.set(params, slot * SLOT);
      this.slotOf.set(key, slot);
    }
    return slot;
  }
}
