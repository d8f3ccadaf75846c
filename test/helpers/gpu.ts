import { afterAll, beforeAll } from 'vitest';
import { Gpu } from '../../src/kernels/runtime/device.js';

/**
 * One device per test file: created before the file's tests, destroyed after them so the worker
 * process can exit. Use inside a test file at top level: `const gpu = useGpu();` then `gpu()`.
 */
export function useGpu(): () => Gpu {
  let gpu: Gpu | null = null;
  beforeAll(async () => {
    gpu = await Gpu.create();
  });
  afterAll(() => {
    gpu?.destroy();
    gpu = null;
  });
  return () => {
    if (!gpu) throw new Error('useGpu(): the device is only available inside tests');
    return gpu;
  };
}

/** Uploads a Float32Array (or a plain number array) into a pooled buffer. */
export function uploadF32(gpu: Gpu, data: ArrayLike<number>, label = 'test-input'): GPUBuffer {
  return gpu.upload(data instanceof Float32Array ? data : Float32Array.from(data), label);
}
