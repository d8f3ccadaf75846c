export { Gpu, type GpuOptions, type GpuFeatures, type GpuLimits, type AdapterSummary } from './device.js';
export { BufferPool } from './buffers.js';
export { type Binding, type DispatchCost } from './commands.js';
export { Params, u32Params, grid1d } from './params.js';
export * from './elementwise.js';
export * from './matmul.js';
