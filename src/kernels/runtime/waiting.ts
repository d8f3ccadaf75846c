// Waits on tiny batches (tests, decoding) finish within this; spinning through it keeps their latency.
const SPIN_MS = 0.2;
// After the spin, the sleep before each of Dawn's polling ticks grows with the time waited so far
// (this fraction of it, within the bounds): short waits notice completion within tens of
// microseconds, long ones poll a few hundred times a second, so neither the latency added nor
// the polling's CPU time exceeds a few percent of the wait.
const POLL_FRACTION = 0.03;
const MIN_POLL_MS = 0.05;
const MAX_POLL_MS = 2;

type SetImmediate = typeof globalThis.setImmediate;
let realSetImmediate: SetImmediate | null = null;
let throttledWaits = 0;
let spinUntil = 0;
let waitStartedAt = 0;
// Atomics.wait on a cell nobody notifies: a sleep finer than setTimeout's 1 ms.
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const isNative = (fn: unknown) => typeof fn === 'function' && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));

// Dawn's callback ticks come from C++ (native functions, no arguments); everything else goes
// straight through to Node's setImmediate. A bound function without arguments looks native too and
// waits alike, at most MAX_POLL_MS.
function throttledSetImmediate(this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
  const now = performance.now();
  if (args.length === 0 && isNative(callback) && now >= spinUntil) {
    Atomics.wait(sleeper, 0, 0, Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, POLL_FRACTION * (now - waitStartedAt))));
  }
  return realSetImmediate!(callback, ...args);
}

/**
 * Waits for a Dawn promise without spinning a core.
 *
 * Dawn's Node bindings (webgpu 0.6.2) drive every pending promise (mapAsync, onSubmittedWorkDone)
 * by calling `ProcessEvents` from a `setImmediate` callback that re-arms itself, looking up the
 * global `setImmediate` on each tick: while a promise is pending, Node's event loop never blocks
 * and the main thread burns a whole core. On a 2-core machine running lavapipe, whose shader
 * threads need both cores, that halved every kernel's throughput (docs/lavapipe-speed.md,
 * "Waiting for the GPU").
 *
 * So while a throttled wait is pending, the global `setImmediate` is swapped for one that, after
 * the first SPIN_MS, sleeps before passing Dawn's tick on (Atomics.wait: setTimeout cannot sleep
 * less than a millisecond, which slowed tiny decoding steps). Ticks of other code pass through
 * unchanged. Nested and concurrent waits share the swap; the last one restores
 * Node's function (unless something else replaced it meanwhile, which then stays).
 *
 * On hardware GPUs the shader work is not on the CPU, and a spinning wait gives the lowest
 * latency (decoding waits once per token): `throttle` is false there.
 */
export async function waitForDawn<T>(throttle: boolean, makePromise: () => Promise<T>): Promise<T> {
  if (!throttle) return makePromise();
  if (throttledWaits++ === 0) {
    realSetImmediate = globalThis.setImmediate;
    globalThis.setImmediate = throttledSetImmediate as SetImmediate;
  }
  waitStartedAt = performance.now();
  spinUntil = Math.max(spinUntil, waitStartedAt + SPIN_MS);
  try {
    return await makePromise();
  } finally {
    if (--throttledWaits === 0) {
      if (globalThis.setImmediate === (throttledSetImmediate as SetImmediate)) globalThis.setImmediate = realSetImmediate!;
      realSetImmediate = null;
    }
  }
}
