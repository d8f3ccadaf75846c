/**
 * The per-query results of a run: one JSON line per finished query in `<out>/trajectories.jsonl`,
 * appended as each query finishes, so an interrupted run resumes where it stopped. `run.json`
 * records what produced the results; resuming with different settings is refused, because the
 * numbers would mix two runs. A line torn by a crash is dropped (and rewritten away) on open.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Judgement } from './judges/judge.js';
import type { Trajectory } from './trajectory.js';

export interface QueryResult {
  query_id: number;
  category: string;
  label: Judgement['label'];
  score: number;
  reasons: string[];
  details: Record<string, unknown>;
  trajectory: Trajectory;
}

export const RESULTS_FILE = 'trajectories.jsonl';
const RUN_FILE = 'run.json';

export function resultKey(category: string, queryId: number): string {
  return `${category}/${queryId}`;
}

/** Writes `text` to `path` through a temporary file and a rename: never a half-written file. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export class ResultsStore {
  private readonly results = new Map<string, QueryResult>();
  private readonly file: string;

  /** `run` describes the settings; `fresh` discards earlier results in `outDir`. */
  constructor(outDir: string, run: Record<string, unknown>, fresh = false) {
    mkdirSync(outDir, { recursive: true });
    this.file = join(outDir, RESULTS_FILE);
    const runFile = join(outDir, RUN_FILE);
    if (fresh) rmSync(this.file, { force: true });
    if (!fresh && existsSync(runFile) && existsSync(this.file)) {
      const previous = JSON.parse(readFileSync(runFile, 'utf8')) as Record<string, unknown>;
      const differing = Object.keys({ ...previous, ...run }).filter(
        (k) => JSON.stringify(previous[k]) !== JSON.stringify(run[k]),
      );
      if (differing.length > 0) {
        throw new Error(
          `${outDir} holds results of a run with other settings (${differing.join(', ')} differ); ` +
            'use another --out, or --fresh to discard them',
        );
      }
    }
    writeFileAtomic(runFile, `${JSON.stringify(run, null, 2)}\n`);
    if (existsSync(this.file)) this.load();
  }

  private load(): void {
    const text = readFileSync(this.file, 'utf8');
    const lines = text.split('\n');
    let torn = false;
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const r = JSON.parse(line) as QueryResult;
        this.results.set(resultKey(r.category, r.query_id), r);
      } catch (e) {
        // Only the last line can be torn by a crash; anything else is damage worth stopping for.
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
          throw new Error(`${this.file}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
        }
        torn = true;
      }
    });
    if (torn) writeFileAtomic(this.file, [...this.results.values()].map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  has(category: string, queryId: number): boolean {
    return this.results.has(resultKey(category, queryId));
  }

  append(result: QueryResult): void {
    appendFileSync(this.file, `${JSON.stringify(result)}\n`);
    this.results.set(resultKey(result.category, result.query_id), result);
  }

  all(): QueryResult[] {
    return [...this.results.values()];
  }
}
