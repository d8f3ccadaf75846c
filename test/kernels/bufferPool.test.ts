import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/kernels/runtime/buffers.js';
import { useGpu } from '../helpers/gpu.js';

const gpu = useGpu();

/** Buffers as numbers, one per distinct buffer seen: toEqual cannot tell two GPUBuffer objects apart. */
function identities(): (buffers: GPUBuffer[]) => number[] {
  const ids = new Map<GPUBuffer, number>();
  return (buffers) => buffers.map((b) => ids.get(b) ?? (ids.set(b, ids.size), ids.size - 1));
}

/** Runs one "step": acquires and releases in a fixed pattern and returns the buffers it was given, in order. */
function step(pool: BufferPool, bytes: number[], releaseOrder: (held: GPUBuffer[]) => GPUBuffer[]): GPUBuffer[] {
  const held = bytes.map((b, i) => pool.acquire(b, `t${i}`));
  for (const b of releaseOrder(held)) pool.release(b);
  return held;
}

describe('BufferPool', () => {
  it('gives a repeated sequence of requests the same buffers, whatever order they were released in', () => {
    const g = gpu();
    const pool = new BufferPool(g.device, g.limits.maxBufferSize);
    const bytes = [1024, 1024, 4096, 1024, 4096, 1024];
    step(pool, bytes, (held) => held);
    const first = step(pool, bytes, (held) => [held[3]!, held[0]!, held[5]!, held[2]!, held[1]!, held[4]!]);
    const second = step(pool, bytes, (held) => [...held].reverse());
    const third = step(pool, bytes, (held) => [held[1]!, held[4]!, held[0]!, held[5]!, held[3]!, held[2]!]);
    const id = identities();
    expect(id(second)).toEqual(id(first));
    expect(id(third)).toEqual(id(first));
    // Nothing new was created after the first step.
    expect(pool.stats()).toMatchObject({ buffersInUse: 0, buffersPooled: 6, bytesInUse: 0 });
    pool.destroyAll();
  });

  it('a step that holds some tensors across the next step still gets stable buffers for the rest', () => {
    const g = gpu();
    const pool = new BufferPool(g.device, g.limits.maxBufferSize);
    const kept = pool.acquire(2048, 'weights');
    const runs = [0, 1, 2].map(() => {
      const a = pool.acquire(2048, 'a');
      const b = pool.acquire(2048, 'b');
      pool.release(a);
      const c = pool.acquire(2048, 'c');
      pool.release(c);
      pool.release(b);
      return [a, b, c];
    });
    const id = identities();
    expect(id(runs[1]!)).toEqual(id(runs[0]!));
    expect(id(runs[2]!)).toEqual(id(runs[0]!));
    expect(runs[0]).not.toContain(kept);
    expect(pool.stats()).toMatchObject({ buffersInUse: 1, buffersPooled: 2 });
    pool.destroyAll();
  });
});
