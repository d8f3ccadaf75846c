/**
 * Training checkpoints on disk: `<out>/checkpoint-<step>/` holds the model in Hugging Face's layout
 * (config.json, model.safetensors, tokenizer files), `optimizer.safetensors` (AdamW moments) and
 * `trainer_state.json` (step, schedule, RNG and data cursor). A checkpoint is assembled in
 * `checkpoint-<step>.tmp-<random>/` and renamed into place when every file is complete, and old ones
 * are renamed aside before they are deleted, so at any moment of a crash every directory named
 * `checkpoint-<step>` is whole and the previous one survives.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const PROMPT_TEMPLATE_FILE = 'kiln_prompt_template.txt';

/** Files a checkpoint must hold to be resumed from. */
const REQUIRED = ['config.json', 'model.safetensors', OPTIMIZER_FILE, TRAINER_STATE_FILE];

const NAME = /^checkpoint-(\d+)$/;
const LEFTOVER = /^checkpoint-\d+\.(tmp|old)-[0-9a-f]+$/;

export function checkpointDir(out: string, step: number): string {
  return join(out, `checkpoint-${step}`);
}

/** Writes `content` to `path` and flushes it to the disk before returning. */
export function writeFileDurable(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  // Makes a rename durable; some platforms cannot open a directory for fsync, which is harmless.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}

/**
 * Writes checkpoint `step`: `fill(tmpDir)` puts every file in a fresh temporary directory, which is
 * then renamed to `checkpoint-<step>`. An existing directory of that name (a run resumed from an
 * earlier step reaching it again) is replaced only after the new one is complete.
 */
export async function writeCheckpoint(out: string, step: number, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  mkdirSync(out, { recursive: true });
  const final = checkpointDir(out, step);
  const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp);
  try {
    await fill(tmp);
    const missing = REQUIRED.filter((f) => !existsSync(join(tmp, f)));
    if (missing.length > 0) throw new Error(`checkpoint ${final}: not written: ${missing.join(', ')}`);
    fsyncDir(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(final)) {
    const old = `${final}.old-${randomBytes(4).toString('hex')}`;
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
  fsyncDir(out);
  return final;
}

/** Complete checkpoints in `out`, oldest first. */
export function listCheckpoints(out: string): { step: number; dir: string }[] {
  if (!existsSync(out)) return [];
  return readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory() && NAME.test(e.name))
    .map((e) => ({ step: Number(NAME.exec(e.name)![1]), dir: join(out, e.name) }))
    .filter((c) => REQUIRED.every((f) => existsSync(join(c.dir, f))))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(out: string): string | null {
  return listCheckpoints(out).at(-1)?.dir ?? null;
}

/**
 * Keeps the newest `keep` checkpoints up to `currentStep` (the one just written) and removes the
 * older ones, plus temporary directories a crashed run left behind. Checkpoints past `currentStep`
 * are not this run's and are left alone: counting them as newer would delete the run's own.
 * Each old checkpoint is first renamed aside, so a crash while deleting never leaves a
 * half-deleted directory under a checkpoint's name.
 */
export function pruneCheckpoints(out: string, keep: number, currentStep: number): void {
  if (!existsSync(out)) return;
  for (const e of readdirSync(out, { withFileTypes: true })) {
    if (e.isDirectory() && LEFTOVER.test(e.name)) rmSync(join(out, e.name), { recursive: true, force: true });
  }
  const all = listCheckpoints(out).filter((c) => c.step <= currentStep);
  for (const { dir } of all.slice(0, Math.max(0, all.length - keep))) {
    const aside = `${dir}.old-${randomBytes(4).toString('hex')}`;
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  }
}

/** Reads a checkpoint's trainer_state.json, naming the file in every error. */
export function readJsonFile<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
