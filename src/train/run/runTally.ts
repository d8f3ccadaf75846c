/**
 * The counters of a run: steps and tokens since the start of training (carried over a resume)
 * and since this process started, its wall-clock time, and the last checkpoint written.
 */
import type { TrainerState } from '../trainerState.js';

export class RunTally {
  /** Optimizer steps done, counting those before a resume. */
  step: number;
  tokensSeen: number;
  stepsThisRun = 0;
  tokensThisRun = 0;
  /** The last checkpoint written (the resumed one until this run saves). */
  lastSaved: string | null;
  /** Seconds of training before this process (a resumed run's checkpoint). */
  readonly elapsedBefore: number;
  private readonly runStart: number;

  constructor(
    resume: { dir: string; state: TrainerState } | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.step = resume?.state.step ?? 0;
    this.tokensSeen = resume?.state.tokensSeen ?? 0;
    this.elapsedBefore = resume?.state.elapsedSeconds ?? 0;
    this.lastSaved = resume ? resume.dir : null;
    this.runStart = now();
  }

  /** Counts a finished optimizer step that trained on `tokens` tokens. */
  stepDone(tokens: number): void {
    this.step++;
    this.stepsThisRun++;
    this.tokensSeen += tokens;
    this.tokensThisRun += tokens;
  }

  /** Seconds since this process started training. */
  elapsedThisRun(): number {
    return (this.now() - this.runStart) / 1000;
  }

  /** Seconds of training in all, counting those before a resume. */
  elapsedSeconds(): number {
    return this.elapsedBefore + this.elapsedThisRun();
  }
}
