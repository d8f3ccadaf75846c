import { afterEach, describe, expect, it, vi } from 'vitest';
import { matmul } from '../../src/kernels/matmul/matmul.js';
import { waitForDawn } from '../../src/kernels/runtime/waiting.js';
import { useGpu } from '../helpers/gpu.js';

const gpu = useGpu();
const nodeSetImmediate = globalThis.setImmediate;
const isNative = (fn: unknown) => /\[native code\]/.test(Function.prototype.toString.call(fn));

afterEach(() => {
  globalThis.setImmediate = nodeSetImmediate;
});

/** Installs a setImmediate that counts calls with native callbacks (Dawn's polling ticks) and others. */
function countNativeTicks(): { count: () => number; others: () => number } {
  let native = 0;
  let others = 0;
  const counting = (fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (isNative(fn)) native++;
    else others++;
    return nodeSetImmediate(fn, ...args);
  };
  globalThis.setImmediate = counting as typeof setImmediate;
  return { count: () => native, others: () => others };
}

/** Records 40 products of 512x1024 by 1024x1024 (about a second of lavapipe work). */
function recordWork(): () => void {
  const g = gpu();
  const [M, K, N] = [512, 1024, 1024];
  const a = g.alloc(4 * M * K);
  const b = g.alloc(4 * K * N);
  const c = g.alloc(4 * M * N);
  for (let i = 0; i < 40; i++) matmul(g, { a, b, c, M, N, K, layout: 'nt' });
  g.flush();
  return () => [a, b, c].forEach((x) => g.release(x));
}

describe('waitForDawn', () => {
  it('sleeps before Dawn\'s polling ticks past the initial spin, longer as the wait goes on, and never when not throttled', async () => {
    const g = gpu();
    recordWork()(); // compile first, outside the counted waits
    await g.sync();
    const sleeps: number[] = [];
    const atomicsWait = Atomics.wait;
    const spy = vi.spyOn(Atomics, 'wait').mockImplementation((...args: Parameters<typeof Atomics.wait>) => {
      sleeps.push(args[3] ?? Infinity);
      return atomicsWait(...args);
    });
    try {
      const spinning = countNativeTicks();
      let release = recordWork();
      await waitForDawn(false, () => g.device.queue.onSubmittedWorkDone());
      release();
      expect(spinning.count()).toBeGreaterThan(0);
      expect(sleeps).toEqual([]);

      const throttled = countNativeTicks();
      release = recordWork();
      await waitForDawn(true, () => g.device.queue.onSubmittedWorkDone());
      release();
      // Dawn's first tick is scheduled as the promise is created, inside the initial spin; the
      // products take far longer than that spin, so later ticks sleep first, one sleep per tick.
      expect(throttled.count()).toBeGreaterThan(0);
      expect(sleeps.length).toBeGreaterThan(0);
      expect(sleeps.length).toBeLessThanOrEqual(throttled.count());
      for (const ms of sleeps) {
        expect(ms).toBeGreaterThanOrEqual(0.05);
        expect(ms).toBeLessThanOrEqual(2);
      }
      expect(sleeps).toEqual([...sleeps].sort((x, y) => x - y));
    } finally {
      spy.mockRestore();
    }
  });

  it('restores setImmediate after nested, concurrent and failing waits', async () => {
    const before = globalThis.setImmediate;
    const g = gpu();
    const outer = waitForDawn(true, async () => {
      expect(globalThis.setImmediate).not.toBe(before);
      await waitForDawn(true, () => g.device.queue.onSubmittedWorkDone());
      expect(globalThis.setImmediate).not.toBe(before);
    });
    const side = waitForDawn(true, () => g.device.queue.onSubmittedWorkDone());
    await Promise.all([outer, side]);
    expect(globalThis.setImmediate).toBe(before);
    await expect(waitForDawn(true, () => Promise.reject(new Error('lost')))).rejects.toThrow('lost');
    expect(globalThis.setImmediate).toBe(before);
  });

  it('passes other callbacks straight through, with their arguments, during a wait', async () => {
    const ticks = countNativeTicks();
    const seen: unknown[] = [];
    await waitForDawn(true, () => new Promise<void>((resolve) => globalThis.setImmediate((x: number, y: string) => (seen.push(x, y), resolve()), 7, 'z')));
    await waitForDawn(true, async () => {
      // Past the initial spin, where a native callback would go to a timer.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => globalThis.setImmediate(() => resolve(seen.push('late'))));
    });
    expect(seen).toEqual([7, 'z', 'late']);
    expect(ticks.others()).toBe(2);
  });

  it('leaves a setImmediate that was replaced during the wait in place', async () => {
    const replacement = ((fn: () => void) => nodeSetImmediate(fn)) as typeof setImmediate;
    await waitForDawn(true, async () => {
      globalThis.setImmediate = replacement;
    });
    expect(globalThis.setImmediate).toBe(replacement);
  });
});
