/**
 * The reproduction's progress in `<out>/reproduce-state.json`: the settings it was started with
 * and what each finished stage produced. A stage recorded there is skipped on the next run; one
 * that was interrupted is run again and resumes on its own (training from its last checkpoint,
 * evaluation from its stored results). Other settings in the same folder are refused, naming them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STAGES = ['download', 'preflight', 'train', 'eval', 'table'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageRecord {
  finishedAt: string;
  /** What the stage produced (a directory, a checkpoint, a file). */
  output: string;
}

interface StateFile {
  format: 'kiln-reproduce-state';
  settings: Record<string, unknown>;
  stages: Partial<Record<Stage, StageRecord>>;
}

export const STATE_FILE = 'reproduce-state.json';

export class ReproduceState {
  private readonly path: string;
  private readonly state: StateFile;

  constructor(out: string, settings: Record<string, unknown>) {
    this.path = join(out, STATE_FILE);
    if (!existsSync(this.path)) {
      this.state = { format: 'kiln-reproduce-state', settings, stages: {} };
      return;
    }
    let previous: StateFile;
    try {
      previous = JSON.parse(readFileSync(this.path, 'utf8')) as StateFile;
    } catch (e) {
      throw new Error(`${this.path}: unreadable (${(e as Error).message}); remove it to start over`);
    }
    if (previous.format !== 'kiln-reproduce-state' || typeof previous.stages !== 'object') {
      throw new Error(`${this.path}: not a kiln reproduce state file; choose another --out`);
    }
    const differing = Object.keys({ ...previous.settings, ...settings }).filter(
      (k) => JSON.stringify(previous.settings[k]) !== JSON.stringify(settings[k]),
    );
    if (differing.length > 0) {
      throw new Error(
        `${this.path}: this folder holds a reproduction with other settings (${differing.join(', ')} differ); ` +
          'run with the same options to resume it, or choose another --out',
      );
    }
    this.state = previous;
  }

  done(stage: Stage): StageRecord | undefined {
    return this.state.stages[stage];
  }

  finish(stage: Stage, output: string): void {
    this.state.stages[stage] = { finishedAt: new Date().toISOString(), output };
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}
