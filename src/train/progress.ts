/**
 * Training progress on stderr. On a terminal: one bar redrawn in place (step, loss, learning rate,
 * tokens/s, ETA). Otherwise (a log file, CI): a plain line every `logEvery` steps and at the last,
 * so logs stay readable and small.
 */
export interface ProgressUpdate {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  /** Wall time of the steps this run has done, and how many those were (for the ETA). */
  elapsedSeconds: number;
  stepsThisRun: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function progressFields(u: ProgressUpdate): string {
  const eta = u.stepsThisRun > 0 ? ((u.totalSteps - u.step) * u.elapsedSeconds) / u.stepsThisRun : NaN;
  return [
    `step ${u.step}/${u.totalSteps}`,
    `loss ${u.loss.toFixed(4)}`,
    `lr ${u.lr.toExponential(2)}`,
    `${u.tokensPerSecond.toFixed(1)} tok/s`,
    `elapsed ${formatDuration(u.elapsedSeconds)}`,
    `ETA ${formatDuration(eta)}`,
  ].join(' | ');
}

export class Progress {
  private readonly tty: boolean;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly logEvery = 10,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(u: ProgressUpdate): void {
    const fields = progressFields(u);
    if (!this.tty) {
      if (u.step % this.logEvery === 0 || u.step === u.totalSteps || u.stepsThisRun === 1) this.stream.write(`${fields}\n`);
      return;
    }
    const width = 24;
    const filled = Math.round((width * u.step) / Math.max(1, u.totalSteps));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const columns = this.stream.columns || 120;
    this.stream.write(`\r\x1b[K${`${bar} ${fields}`.slice(0, columns - 1)}`);
    this.drawn = true;
  }

  /** A message between bar redraws (checkpoint saved, warnings), without garbling the bar. */
  log(message: string): void {
    if (this.tty && this.drawn) {
      this.stream.write(`\r\x1b[K${message}\n`);
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
