/**
 * Streaming readers for large JSON files: the elements of a top-level JSON array, and the lines of
 * a JSONL file, each yielded as raw text with its index, without holding the whole file in memory.
 * ToolBench's released `toolllama_G123_dfs_train.json` is one array of ~1.5 GB of text, past the
 * longest string V8 can hold, so it cannot go through a single JSON.parse.
 *
 * Both work on bytes and decode each element on its own, strictly: an element that is not valid
 * UTF-8, or longer than `maxRecordBytes`, comes back with an `error` in place of its text, so the
 * caller can skip or refuse that one record by name (a lenient decoder would turn bad bytes into
 * U+FFFD and train on them). Every structural character of JSON is ASCII, and no byte of a
 * multi-byte UTF-8 sequence is, so scanning bytes finds the same boundaries as scanning text.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

export interface RawElement {
  index: number;
  /** The element's text; empty when `error` is set. */
  text: string;
  /** Why the element's bytes could not be used as text. */
  error?: string;
}

/** The longest record kiln reads (real ToolBench records are well under 1 MB). */
export const maxRecordBytes = 64 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/** Collects one element's bytes across read chunks, up to `maxRecordBytes`. */
class ElementBytes {
  private pieces: Buffer[] = [];
  private length = 0;

  add(piece: Buffer): void {
    this.length += piece.length;
    if (this.length <= maxRecordBytes) this.pieces.push(piece);
    else this.pieces = [];
  }

  take(index: number): RawElement {
    const { length, pieces } = this;
    this.pieces = [];
    this.length = 0;
    if (length > maxRecordBytes) return { index, text: '', error: `record is ${length} bytes, over kiln's limit of ${maxRecordBytes}` };
    return decodeElement(index, pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeElement(index: number, bytes: Buffer): RawElement {
  try {
    return { index, text: strictUtf8.decode(bytes) };
  } catch {
    return { index, text: '', error: `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)} of the record` };
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, by bisection over strict decodes (the decoder does not say where).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      strictUtf8.decode(bytes.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === NEWLINE || byte === 0x0d || byte === 0x09;
}

/**
 * Yields the text of each element of the top-level array in `path`. Element boundaries are found
 * by tracking bracket depth outside strings; the caller parses each element. Throws naming the
 * file when the top level is not an array or the array is unterminated.
 */
export async function* streamJsonArray(path: string): AsyncGenerator<RawElement> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let state = 'before' as 'before' | 'between' | 'inside' | 'done';
  // What the current element is: an object/array ends when its brackets balance, a string at its
  // closing quote, any other scalar just before the next `,`, `]` or whitespace.
  let kind: 'container' | 'string' | 'scalar' = 'container';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const element = new ElementBytes();
  let index = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (state === 'inside') {
        let endsBefore: number; // the element's bytes in this chunk end here
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === BACKSLASH) escaped = true;
          else if (byte === QUOTE) inString = false;
          if (inString || kind !== 'string') continue;
          endsBefore = i + 1;
        } else if (kind === 'scalar') {
          if (byte !== 0x2c && byte !== 0x5d && !isJsonWhitespace(byte)) continue;
          endsBefore = i;
          if (byte === 0x5d) state = 'done';
        } else {
          if (byte === QUOTE) inString = true;
          else if (byte === 0x7b || byte === 0x5b) depth++;
          else if (byte === 0x7d || byte === 0x5d) depth--;
          if (depth !== 0) continue;
          endsBefore = i + 1;
        }
        element.add(chunk.subarray(elementStart, endsBefore));
        yield element.take(index++);
        if (state === 'inside') state = 'between';
        continue;
      }
      if (isJsonWhitespace(byte)) continue;
      if (state === 'before') {
        if (byte !== 0x5b) throw new Error(`${path}: the top level is not a JSON array`);
        state = 'between';
      } else if (state === 'done') {
        throw new Error(`${path}: unexpected text after the top-level JSON array`);
      } else if (byte === 0x5d) {
        state = 'done';
      } else if (byte !== 0x2c) {
        // Commas are not checked: a missing or doubled one only shifts element boundaries, and
        // each element is parsed (and rejected if malformed) by the caller.
        state = 'inside';
        elementStart = i;
        kind = byte === 0x7b || byte === 0x5b ? 'container' : byte === QUOTE ? 'string' : 'scalar';
        depth = kind === 'container' ? 1 : 0;
        inString = kind === 'string';
      }
    }
    if (state === 'inside') element.add(chunk.subarray(elementStart));
  }
  if (state !== 'done') throw new Error(`${path}: the top-level JSON array is not terminated`);
}

/** A file holding one record, read whole unless it is over `maxRecordBytes`. */
export async function readWholeRecord(path: string): Promise<RawElement> {
  const { size } = await stat(path);
  if (size > maxRecordBytes) return { index: 0, text: '', error: `record is ${size} bytes, over kiln's limit of ${maxRecordBytes}` };
  return decodeElement(0, await readFile(path));
}

/** Yields each non-blank line of a JSONL file (`\n` or `\r\n` ended) with its 0-based line number. */
export async function* streamJsonLines(path: string): AsyncGenerator<RawElement> {
  const line = new ElementBytes();
  let index = 0;
  let blank = true;
  const end = (): RawElement | null => {
    const raw = line.take(index++);
    const wasBlank = blank;
    blank = true;
    if (raw.error === undefined) raw.text = raw.text.replace(/\r$/, '');
    return wasBlank ? null : raw;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte !== NEWLINE) {
        if (blank && !isJsonWhitespace(byte)) blank = false;
        continue;
      }
      line.add(chunk.subarray(start, i));
      start = i + 1;
      const raw = end();
      if (raw) yield raw;
    }
    line.add(chunk.subarray(start));
  }
  const last = end();
  if (last) yield last;
}
