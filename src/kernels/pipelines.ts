/**
 * Compute pipelines cached by WGSL source, entry point and override constants: kernels generate
 * their source per tile shape, and compiling the same source twice (through Dawn's Tint and then
 * the driver) costs milliseconds to seconds on lavapipe.
 */
export class PipelineCache {
  private readonly cache = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(kernel: string, code: string, entryPoint: string, constants?: Record<string, number>): GPUComputePipeline {
    const constKey = constants ? JSON.stringify(Object.entries(constants).sort(([a], [b]) => (a < b ? -1 : 1))) : '';
    const key = `${entryPoint}\u0000${constKey}\u0000${code}`;
    let pipeline = this.cache.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ code, label: kernel });
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint, constants },
        label: kernel,
      });
      this.cache.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }
}
