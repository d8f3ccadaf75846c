/**
 * One `--out` directory holds one run. Checkpoints are ordered by step number and pruned by it, and
 * metrics.jsonl is rewritten when a run starts, so a second run written into a used directory would
 * see its own checkpoints pruned as "older" than the first run's and the first run's log replaced.
 * Before anything is loaded, the directory is claimed: a fresh run needs a directory without kiln's
 * run files, a resumed one a directory without checkpoints past the step it resumes from, unless
 * `--overwrite` says to delete what is in the way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OptionsError } from './options.js';

/** The names kiln's trainer writes into `--out` (and their temporary forms). */
const RUN_FILE = /^(checkpoint-\d+(\.(tmp|old)-[0-9a-f]+)?|(metrics\.jsonl|loss\.png)(\.tmp-\d+)?)$/;
const CHECKPOINT = /^checkpoint-(\d+)$/;

/** The resume point as the run directory needs it. */
export interface ResumedFrom {
  dir: string;
  step: number;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

/** Renames each entry aside, then deletes it, so a crash never leaves a half-deleted checkpoint under its name. */
function removeEntries(out: string, names: string[]): void {
  for (const name of names) {
    const aside = join(out, `${name}.old-${randomBytes(4).toString('hex')}`);
    renameSync(join(out, name), aside);
    rmSync(aside, { recursive: true, force: true });
  }
}

/**
 * Makes `out` ready for a run: a fresh run (or one resumed from a checkpoint in another directory)
 * refuses a directory holding kiln's run files; a run resumed from `out`'s own checkpoint refuses
 * checkpoints past its step. With `overwrite`, exactly those files are deleted instead; files kiln
 * did not write are never touched.
 */
export function claimRunDirectory(out: string, resumedFrom: ResumedFrom | null, overwrite: boolean): void {
  if (!existsSync(out)) return;
  const names = readdirSync(out).filter((name) => RUN_FILE.test(name)).sort();
  const sameRun = resumedFrom !== null && resolve(dirname(resumedFrom.dir)) === resolve(out);
  if (!sameRun) {
    if (names.length === 0) return;
    if (!overwrite) {
      throw new OptionsError(
        `--out ${out} already holds a training run (${listNames(names)}); continue it with --resume, ` +
          'write to a new --out, or pass --overwrite to delete those files and start over',
      );
    }
    removeEntries(out, names);
    return;
  }
  const later = names.filter((name) => Number(CHECKPOINT.exec(name)?.[1] ?? -1) > resumedFrom.step);
  if (later.length === 0) return;
  if (!overwrite) {
    throw new OptionsError(
      `--resume ${resumedFrom.dir}: ${out} also holds later checkpoints (${listNames(later)}) that this run would mix with its own; ` +
        'resume from the latest, or pass --overwrite to delete them',
    );
  }
  removeEntries(out, later);
}
