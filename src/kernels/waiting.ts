import type { DispatchCost } from './commands.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Nominal device speed that turns a dispatch's cost into seconds; the learned `scale` corrects it.
const NOMINAL_FLOPS = 50e9;
const NOMINAL_BYTES_PER_S = 20e9;
const MIN_LEARNING_MS = 5;
const MIN_SCALE = 0.01;
const MAX_SCALE = 20;

/**
 * Waits for submitted GPU work without burning a core.
 *
 * Measured with webgpu 0.6.2 in Node: while any Dawn promise (mapAsync, onSubmittedWorkDone) is
 * pending, the bindings poll in a busy loop on the main thread. On a 2-core machine running
 * lavapipe, whose shader threads need both cores, awaiting right after a submit halved matmul
 * throughput. So the waiter first sleeps (no promise pending, the thread idle) for most of the
 * time the work should take, then creates the Dawn promise and polls only the remainder.
 *
 * The expected time comes from each dispatch's declared flops and bytes at a nominal speed, times a
 * scale learned from completed waits: when the promise resolves at once after the sleep we may have
 * overslept, so the scale shrinks; otherwise it moves toward the observed time. Only waits on
 * substantial work teach it: small batches are dominated by fixed submit and map overheads, and
 * learning from them once made the scale so large that a later big batch slept for a minute. Nor do
 * waits after a pipeline compile (seconds on lavapipe), which once left the scale 7x too high.
 */
export class CompletionWaiter {
  private pendingSeconds = 0;
  private firstSubmitAt: number | null = null;
  private scale = 1;
  private compiledSinceWait = false;

  constructor(private readonly enabled: boolean) {}

  addWork(cost: DispatchCost): void {
    this.pendingSeconds += (cost.flops ?? 0) / NOMINAL_FLOPS + (cost.bytes ?? 0) / NOMINAL_BYTES_PER_S;
  }

  /** A pipeline was compiled: the next wait includes compile time, which says nothing of kernel speed. */
  noteCompile(): void {
    this.compiledSinceWait = true;
  }

  noteSubmit(): void {
    this.firstSubmitAt ??= performance.now();
  }

  async waitFor(makePromise: () => Promise<unknown>): Promise<void> {
    const nominal = this.pendingSeconds;
    const startedAt = this.firstSubmitAt ?? performance.now();
    this.pendingSeconds = 0;
    this.firstSubmitAt = null;
    const compiled = this.compiledSinceWait;
    this.compiledSinceWait = false;
    const expectedMs = nominal * this.scale * 1000;
    const remainingMs = expectedMs * 0.9 - (performance.now() - startedAt);
    if (this.enabled && remainingMs > 1) await sleep(remainingMs);
    const pollFrom = performance.now();
    await makePromise();
    const end = performance.now();
    if (expectedMs < MIN_LEARNING_MS || compiled) return;
    const observedScale = (end - startedAt) / 1000 / nominal;
    if (end - pollFrom < 0.5) this.scale *= 0.85; // resolved at once: the sleep may have been too long
    else this.scale = 0.7 * this.scale + 0.3 * observedScale;
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale));
  }

  /** The current seconds-per-nominal-second factor (for benchmarks that report waiting behaviour). */
  get learnedScale(): number {
    return this.scale;
  }
}
