// The GPU runtime every kernel runs on: the device (Gpu), its buffer pool, pipeline and bind-group
// caches, batched dispatches, waiting for Dawn, the profiler, and the per-adapter work layouts.
export { Gpu, type GpuOptions, type GpuFeatures, type GpuLimits, type AdapterSummary } from './device.js';
export { BufferPool } from './buffers.js';
export { type Binding, type Dispatch } from './commands.js';
export { type KernelTime, kernelKind } from './profiler.js';
export { Params, u32Params, grid1d } from './params.js';
export { type SubgroupWidth } from './subgroupWidth.js';
