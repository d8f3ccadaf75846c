/**
 * Compute pipelines cached by WGSL source, entry point and override constants: kernels generate
 * their source per tile shape, and compiling the same source twice (through Dawn's Tint and then
 * the driver) costs milliseconds to seconds on lavapipe.
 */
export class PipelineCache {
  // Keyed by the source itself, then entry point and constants: a kernel that keeps its source
  // string (matmul.ts) is found without hashing it again, as joining the keys into one would.
  private readonly cache = new Map<string, Map<string, GPUComputePipeline>>();
  private count = 0;

  constructor(private readonly device: GPUDevice) {}

  get(kernel: string, code: string, entryPoint: string, constants?: Record<string, number>): GPUComputePipeline {
    const constKey = constants ? JSON.stringify(Object.entries(constants).sort(([a], [b]) => (a < b ? -1 : 1))) : '';
    const key = `${entryPoint}\u0000${constKey}`;
    let bySource = this.cache.get(code);
    if (!bySource) this.cache.set(code, (bySource = new Map()));
    let pipeline = bySource.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ code, label: kernel });
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint, constants },
        label: kernel,
      });
      bySource.set(key, pipeline);
      this.count++;
    }
    return pipeline;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.cache.clear();
    this.count = 0;
  }
}
