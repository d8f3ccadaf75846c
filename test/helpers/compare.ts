import { expect } from 'vitest';
import type { Tolerance } from './tolerances.js';

/**
 * Asserts that `got` matches the float64 `want` elementwise within `tol`, reporting the worst
 * element with its index so a failure says where to look. `termScale`, when given, is the size of
 * the terms the kernel summed (e.g. max over elements of Σ|term|): where they cancel, the result is
 * far smaller than its terms while float32 still errs relative to the terms, so the absolute
 * tolerance scales with whichever is larger.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, what = 'tensor', termScale = 0): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let scale = termScale;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  const atol = tol.atolScaled * Math.max(scale, 1e-30);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(g) !== Number.isNaN(w) || (!Number.isFinite(g) && g !== w)) {
      worst = i;
      worstExcess = Infinity;
      break;
    }
    const excess = Math.abs(g - w) - (atol + tol.rtol * Math.abs(w));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst} is ${got[worst]}, want ${want[worst]} ` +
        `(|diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)}, allowed ${(atol + tol.rtol * Math.abs(want[worst])).toExponential(3)}, max|want| ${scale.toExponential(3)})`,
    );
  }
}
