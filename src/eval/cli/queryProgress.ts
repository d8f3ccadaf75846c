/**
 * A progress line on stderr: queries done, the pass rate so far, and the rate of work. On a
 * terminal it redraws one line; otherwise (a log file, CI) it prints a line every tenth of the way.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class QueryProgress {
  private done = 0;
  private scoreSum = 0;
  private lastDecile = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly label = 'eval',
  ) {}

  /** Records one finished query and its score in [0, 1]. */
  tick(score: number): void {
    this.done++;
    this.scoreSum += score;
    if (this.stream.isTTY) this.stream.write(`\r${this.line()}`);
    else {
      const decile = this.total === 0 ? 10 : Math.floor((10 * this.done) / this.total);
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${this.line()}\n`);
      }
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }

  line(): string {
    const width = 24;
    const filled = this.total === 0 ? width : Math.round((width * this.done) / this.total);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const pass = this.done === 0 ? '  -  ' : `${((100 * this.scoreSum) / this.done).toFixed(1)}%`;
    const seconds = (Date.now() - this.started) / 1000;
    const perMinute = seconds > 0 ? ((60 * this.done) / seconds).toFixed(1) : '-';
    return `${this.label} [${bar}] ${this.done}/${this.total} pass so far ${pass} (${perMinute} queries/min)`;
  }
}
