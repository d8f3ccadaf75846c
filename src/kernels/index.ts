// The bottom layer: WGSL kernels and the WebGPU runtime they run on, one folder per component with
// several files (runtime, matmul, attention, norms) and one file per single-kernel family.
export * from './runtime/index.js';
export * from './elementwise.js';
export * from './matmul/index.js';
export * from './norms/index.js';
export * from './attention/index.js';
export * from './crossEntropy.js';
export * from './embedding.js';
export * from './reductions.js';
export * from './adamw.js';
export * from './casts.js';
