/**
 * The metrics log: one JSON object per optimizer step in `<out>/metrics.jsonl`. Lines are appended
 * as steps finish; a resumed run first cuts the log back to the checkpoint's step (through a
 * temporary file and a rename), so the file always reads as one uninterrupted run.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Real tokens and target tokens in this step's micro-batches. */
  tokens: number;
  targetTokens: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

/** Parses the log, skipping a torn last line (a crash mid-append) and anything that is not a step record. */
export function readMetrics(path: string): StepMetrics[] {
  if (!existsSync(path)) return [];
  const out: StepMetrics[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as StepMetrics;
      if (typeof value.step === 'number') out.push(value);
    } catch {
      // a partial line from an interrupted append: the resumed run rewrites that step
    }
  }
  return out;
}

export class MetricsLog {
  private constructor(readonly path: string) {}

  /** Starts a fresh log, or keeps the records up to `keepThroughStep` (resume). */
  static open(path: string, keepThroughStep: number | null): MetricsLog {
    const kept = keepThroughStep === null ? [] : readMetrics(path).filter((m) => m.step <= keepThroughStep);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    renameSync(tmp, path);
    return new MetricsLog(path);
  }

  append(m: StepMetrics): void {
    appendFileSync(this.path, `${JSON.stringify(m)}\n`);
  }

  all(): StepMetrics[] {
    return readMetrics(this.path);
  }
}
