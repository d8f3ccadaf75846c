/**
 * Gathers single requests from many concurrently running queries into batches for the policy.
 * Each query's agent loop awaits `complete(request)`; the batcher sends a batch as soon as every
 * active query is waiting on the model (or the batch is full), so with a local model one forward
 * pass serves all active queries. A short timer also flushes, so queries waiting on a slow tool
 * server do not hold the others back. One batch is in flight at a time: a local model owns one
 * device, and requests that arrive meanwhile form the next batch.
 */
import type { Policy, PolicyCompletion, PolicyRequest } from './policy.js';

interface Pending {
  request: PolicyRequest;
  resolve: (c: PolicyCompletion) => void;
}

export class PolicyBatcher {
  private pending: Pending[] = [];
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private checkQueued = false;

  constructor(
    private readonly policy: Policy,
    private readonly flushAfterMs = 200,
  ) {}

  /** Marks one query as running; `leave` when it is done. Only running queries are waited for. */
  enter(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    this.schedule();
  }

  complete(request: PolicyRequest): Promise<PolicyCompletion> {
    return new Promise((resolve) => {
      this.pending.push({ request, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.checkQueued) return;
    // Decide after the current synchronous burst: queries started together enter one by one, and
    // the first must not be sent alone before the others have asked.
    this.checkQueued = true;
    queueMicrotask(() => {
      this.checkQueued = false;
      if (this.inFlight || this.pending.length === 0) return;
      const want = Math.min(this.policy.maxBatch, Math.max(1, this.active));
      if (this.pending.length >= want) this.flush();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.flushAfterMs);
    });
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.pending.length === 0) return;
    this.inFlight = true;
    void this.run(this.pending.splice(0, this.policy.maxBatch)).finally(() => {
      this.inFlight = false;
      this.schedule();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    let results: PolicyCompletion[];
    try {
      results = await this.policy.complete(batch.map((p) => p.request));
      if (results.length !== batch.length) {
        throw new Error(`policy returned ${results.length} completions for ${batch.length} requests`);
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      results = batch.map(() => ({ ok: false, kind: 'error', message }));
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }
}
