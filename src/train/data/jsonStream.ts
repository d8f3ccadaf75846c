/**
 * Streaming readers for large JSON files: the elements of a top-level JSON array, and the lines of
 * a JSONL file, each yielded as raw text with its index, without holding the whole file in memory.
 * ToolBench's released `toolllama_G123_dfs_train.json` is one array of ~1.5 GB of text, past the
 * longest string V8 can hold, so it cannot go through a single JSON.parse.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface RawElement {
  index: number;
  text: string;
}

/**
 * Yields the text of each element of the top-level array in `path`. Element boundaries are found
 * by tracking bracket depth outside strings; the caller parses each element. Throws naming the
 * file when the top level is not an array or the array is unterminated.
 */
export async function* streamJsonArray(path: string): AsyncGenerator<RawElement> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let state = 'before' as 'before' | 'between' | 'inside' | 'done';
  // What the current element is: an object/array ends when its brackets balance, a string at its
  // closing quote, any other scalar just before the next `,`, `]` or whitespace.
  let kind: 'container' | 'string' | 'scalar' = 'container';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pending = ''; // the current element's text from earlier chunks
  let index = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    let elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (state === 'inside') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
          if (inString || kind !== 'string') continue;
          yield { index: index++, text: pending + chunk.slice(elementStart, i + 1) };
          state = 'between';
          continue;
        }
        if (kind === 'scalar') {
          if (ch !== ',' && ch !== ']' && !isJsonWhitespace(ch)) continue;
          yield { index: index++, text: pending + chunk.slice(elementStart, i) };
          state = ch === ']' ? 'done' : 'between';
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') depth--;
        if (depth === 0) {
          yield { index: index++, text: pending + chunk.slice(elementStart, i + 1) };
          state = 'between';
        }
        continue;
      }
      if (isJsonWhitespace(ch)) continue;
      if (state === 'before') {
        if (ch !== '[') throw new Error(`${path}: the top level is not a JSON array`);
        state = 'between';
      } else if (state === 'done') {
        throw new Error(`${path}: unexpected text after the top-level JSON array`);
      } else if (ch === ']') {
        state = 'done';
      } else if (ch !== ',') {
        // Commas are not checked: a missing or doubled one only shifts element boundaries, and
        // each element is parsed (and rejected if malformed) by the caller.
        state = 'inside';
        elementStart = i;
        pending = '';
        kind = ch === '{' || ch === '[' ? 'container' : ch === '"' ? 'string' : 'scalar';
        depth = kind === 'container' ? 1 : 0;
        inString = kind === 'string';
      }
    }
    if (state === 'inside') pending += chunk.slice(elementStart);
  }
  if (state !== 'done') throw new Error(`${path}: the top-level JSON array is not terminated`);
}

/** Yields each non-blank line of a JSONL file with its 0-based line number. */
export async function* streamJsonLines(path: string): AsyncGenerator<RawElement> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let index = 0;
  for await (const line of lines) {
    if (line.trim() !== '') yield { index, text: line };
    index++;
  }
}

function isJsonWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t';
}
