/**
 * Finding and reading SFT data in the three forms users have it (docs/toolbench-formats.md §c):
 * 1. ToolLLaMA conversations: `[{id, conversations: [{from, value}]}]` (ToolBench's released
 *    `toolllama_G123_dfs_train.json`), as a JSON array or one object per JSONL line;
 * 2. raw DFS/CoT answer files (`answer/G*_answer/*.json`, one answer object per file);
 * 3. chat messages: JSONL lines `{"messages": [{role, content, ...}]}` (or a bare message list).
 * A path may be a file or a directory (searched recursively for `.json` / `.jsonl`, in sorted
 * order). Large arrays and JSONL files are streamed element by element.
 */
import { openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseJsonLossless } from '../../../toolbench/jsonLossless.js';
import { readWholeRecord, streamJsonArray, streamJsonLines, type RawElement } from './jsonStream.js';

export type SourceForm = 'toolllama' | 'answer-tree' | 'chat';

/** One record as read: its parsed value, or why it could not be parsed. */
export interface SourceRecord {
  file: string;
  /** 0-based: element of a JSON array, line of a JSONL file, 0 for a one-object file. */
  index: number;
  /** Human-readable place, for error messages: `train.json [12]`, `chat.jsonl line 13`. */
  location: string;
  value?: unknown;
  parseError?: string;
}

/** The data files under `path`: the file itself, or every .json/.jsonl below a directory, sorted. */
export function listSourceFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new Error(`training data path not found: ${path}`);
  }
  if (stat.isFile()) return [path];
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.jsonl?$/.test(entry.name)) files.push(full);
    }
  };
  walk(path);
  if (files.length === 0) throw new Error(`no .json or .jsonl files under ${path}`);
  return files;
}

/** Which of the three forms a parsed record is, or null when it is none of them. */
export function detectForm(value: unknown): SourceForm | null {
  if (Array.isArray(value)) return 'chat';
  if (value === null || typeof value !== 'object') return null;
  if ('conversations' in value) return 'toolllama';
  if ('answer_generation' in value) return 'answer-tree';
  if ('messages' in value) return 'chat';
  return null;
}

/** Every record of every data file under `path`, in a fixed order. */
export async function* readSourceRecords(path: string): AsyncGenerator<SourceRecord> {
  for (const file of listSourceFiles(path)) {
    const name = statSync(path).isFile() ? file : relative(path, file);
    if (file.endsWith('.jsonl')) {
      for await (const raw of streamJsonLines(file)) yield parseRaw(file, raw, `${name} line ${raw.index + 1}`);
    } else if (firstNonBlankChar(file) === '[') {
      for await (const raw of streamJsonArray(file)) yield parseRaw(file, raw, `${name} [${raw.index}]`);
    } else {
      yield parseRaw(file, await readWholeRecord(file), name);
    }
  }
}

function parseRaw(file: string, raw: RawElement, location: string): SourceRecord {
  const record: SourceRecord = { file, index: raw.index, location };
  if (raw.error !== undefined) {
    record.parseError = raw.error;
    return record;
  }
  try {
    record.value = JSON.parse(raw.text);
    // Answer trees carry the function list that is printed as Python repr into the system
    // prompt; JSON.parse would print `1.0` as `1`, so they are parsed again keeping number kinds.
    if (detectForm(record.value) === 'answer-tree') record.value = parseJsonLossless(raw.text);
  } catch (err) {
    record.parseError = `invalid JSON: ${(err as Error).message}`;
  }
  return record;
}

function firstNonBlankChar(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return null;
      const text = buf.subarray(0, n).toString('latin1').trimStart();
      if (text !== '') return text[0]!;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}
