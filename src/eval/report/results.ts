/**
 * The per-query results of a run: one JSON line per finished query in `<out>/trajectories.jsonl`,
 * appended as each query finishes, so an interrupted run resumes where it stopped. `run.json`
 * records what produced the results; resuming with different settings is refused, because the
 * numbers would mix two runs. A line torn by a crash is cut away on open. The file is read line by
 * line, never as one string, so a large run still resumes. Every line is scrubbed of known secrets.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { scrubSecrets } from '../secrets.js';
import { join } from 'node:path';
import type { Judgement } from '../judges/judge.js';
import type { Trajectory } from '../trajectory.js';

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
    writeFileAtomic(runFile, `${scrubSecrets(JSON.stringify(run, null, 2))}\n`);
    if (existsSync(this.file)) this.load();
  }

  private load(): void {
    let torn: { line: number; offset: number; message: string } | null = null;
    forEachLine(this.file, (line, lineNo, offset) => {
      if (line.trim() === '') return;
      // Only the last line can be torn by a crash; anything else is damage worth stopping for.
      if (torn !== null) throw new Error(`${this.file}: line ${torn.line} is not valid JSON (${torn.message})`);
      try {
        const r = JSON.parse(line) as QueryResult;
        this.results.set(resultKey(r.category, r.query_id), r);
      } catch (e) {
        torn = { line: lineNo, offset, message: (e as Error).message };
      }
    });
    if (torn !== null) truncateSync(this.file, (torn as { offset: number }).offset);
  }

  has(category: string, queryId: number): boolean {
    return this.results.has(resultKey(category, queryId));
  }

  append(result: QueryResult): void {
    appendFileSync(this.file, `${scrubSecrets(JSON.stringify(result))}\n`);
    this.results.set(resultKey(result.category, result.query_id), result);
  }

  all(): QueryResult[] {
    return [...this.results.values()];
  }
}

/** A line longer than this is damage, not a result (replies are capped far below it). */
const MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * Calls `fn` for each line of `file` with its 1-based number and its byte offset, reading
 * `chunkBytes` at a time, so no string longer than one line is ever built.
 */
export function forEachLine(file: string, fn: (line: string, lineNo: number, offset: number) => void, chunkBytes = 1 << 20): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(chunkBytes);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let lineStart = 0;
    let position = 0;
    let lineNo = 0;
    const emit = (tail: Buffer) => {
      const line = Buffer.concat([...pending, tail]).toString('utf8');
      fn(line, ++lineNo, lineStart);
      lineStart += pendingBytes + tail.length + 1;
      pending = [];
      pendingBytes = 0;
    };
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkBytes, position);
      if (read === 0) break;
      position += read;
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl >= 0 && nl < read; nl = chunk.indexOf(10, from)) {
        emit(chunk.subarray(from, nl));
        from = nl + 1;
      }
      if (from < read) {
        pending.push(Buffer.from(chunk.subarray(from, read)));
        pendingBytes += read - from;
        if (pendingBytes > MAX_LINE_BYTES) throw new Error(`${file}: line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
      }
    }
    if (pendingBytes > 0) emit(Buffer.alloc(0));
  } finally {
    closeSync(fd);
  }
}
