// The package entry: the GPU runtime, tensors and the model API.
export { Gpu, type GpuOptions } from './kernels/runtime/device.js';
export * from './autograd/index.js';
export * from './model/index.js';
export { AdamW, type AdamWOptions } from './train/optimizer/adamw.js';
