import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Command-line flags and result files shared by the benchmark entry points. */

/** The value after `--name`, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Writes `text` through `<path>.tmp`, so that a crash leaves no half-written result. */
export function writeTextResult(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  process.stderr.write(`wrote ${path}\n`);
}

export function writeJsonResult(path: string, value: unknown): void {
  writeTextResult(path, `${JSON.stringify(value, null, 2)}\n`);
}
