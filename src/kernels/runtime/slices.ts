import type { GpuLimits } from './device.js';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits `count` items (elements, rows, ...) into ranges that can each be bound as storage
 * buffer slices: no binding over maxStorageBufferBindingSize, and every slice starting at a byte
 * offset that is a multiple of minStorageBufferOffsetAlignment in every buffer it is cut from.
 * `bytesPerItem` lists one item's size in each buffer the kernel binds (f16 source and f32
 * destination differ, for example).
 */
export function bindableRanges(limits: GpuLimits, count: number, bytesPerItem: number[]): { start: number; count: number }[] {
  const align = limits.minStorageBufferOffsetAlignment;
  let step = 1;
  for (const b of bytesPerItem) {
    const s = align / gcd(b, align);
    step = (step * s) / gcd(step, s);
  }
  const fit = Math.min(...bytesPerItem.map((b) => Math.floor(limits.maxStorageBufferBindingSize / b)));
  const max = Math.floor(fit / step) * step;
  if (max === 0) throw new Error(`kiln: an item of ${Math.max(...bytesPerItem)} bytes cannot be bound in aligned slices`);
  const ranges: { start: number; count: number }[] = [];
  for (let start = 0; start < count; start += max) ranges.push({ start, count: Math.min(max, count - start) });
  return ranges;
}
