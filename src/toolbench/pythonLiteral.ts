/**
 * Reading Python literals — what `ast.literal_eval` accepts for data: dicts, lists, tuples,
 * strings in either quote, numbers, True/False/None. The RapidAPI server returns Python's `str()`
 * of an API's reply, and ToolEval's converted answers hold `str()` of each tool call, often cut
 * short (docs/toolbench-formats.md §d, §f), and training reads a prompt's function list back
 * with it to apply a fitting policy. `parsePythonLiteral` reads one whole literal;
 * `readDictPrefix` reads what survives of a dict that was cut.
 */

import { PyFloat } from './pythonRepr.js';

/** Deeper nesting than any real reply; past it a text is not read (no recursion without bound). */
export const MAX_LITERAL_DEPTH = 256;

/**
 * The literal, or undefined for text that is not one complete literal within the depth limit.
 * `exactNumbers`: floats as PyFloat and integers beyond 2^53 as bigint, so pythonRepr prints them
 * back unchanged (training re-renders a prompt's function list with a fitting policy).
 */
export function parsePythonLiteral(text: string, options: { exactNumbers?: boolean } = {}): unknown {
  const reader = new LiteralReader(text, options.exactNumbers === true);
  try {
    const value = reader.value(0);
    reader.skipSpace();
    return reader.atEnd() ? value : undefined;
  } catch (e) {
    if (e instanceof NotALiteral) return undefined;
    throw e;
  }
}

export interface DictPrefix {
  /** The key/value pairs that survive whole, in order. */
  entries: Record<string, unknown>;
  /** True when the dict was read up to its closing brace. */
  complete: boolean;
  /** The string value the text was cut inside, with what survives of it. */
  cut?: { key: string; text: string };
}

/**
 * What survives of `str(dict)` cut anywhere: the whole pairs before the cut, and the prefix of a
 * string value cut in the middle. Null when the text does not start as a dict.
 */
export function readDictPrefix(text: string): DictPrefix | null {
  const reader = new LiteralReader(text);
  reader.skipSpace();
  if (!reader.eat('{')) return null;
  const entries: Record<string, unknown> = {};
  try {
    for (;;) {
      reader.skipSpace();
      if (reader.eat('}')) return { entries, complete: true };
      const key = String(reader.value(1));
      reader.skipSpace();
      if (!reader.eat(':')) return { entries, complete: false };
      reader.skipSpace();
      if (reader.peekQuote()) {
        const s = reader.stringPrefix();
        if (!s.closed) return { entries, complete: false, cut: { key, text: s.text } };
        entries[key] = s.text;
      } else {
        entries[key] = reader.value(1);
      }
      reader.skipSpace();
      if (!reader.eat(',') && !reader.peek('}')) return { entries, complete: false };
    }
  } catch (e) {
    if (e instanceof NotALiteral) return { entries, complete: false };
    throw e;
  }
}

class NotALiteral extends Error {}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

class LiteralReader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly exactNumbers = false,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  peek(ch: string): boolean {
    return this.text[this.pos] === ch;
  }

  peekQuote(): boolean {
    return this.peek("'") || this.peek('"');
  }

  value(depth: number): unknown {
    if (depth > MAX_LITERAL_DEPTH) throw new NotALiteral();
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '{') return this.dict(depth);
    if (ch === '[') return this.sequence(']', depth);
    if (ch === '(') return this.sequence(')', depth);
    if (ch === "'" || ch === '"') {
      const s = this.stringPrefix();
      if (!s.closed) throw new NotALiteral();
      return s.text;
    }
    for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (number) {
      this.pos += number[0].length;
      if (!this.exactNumbers) return Number(number[0]);
      if (/[.eE]/.test(number[0])) return new PyFloat(Number(number[0]));
      return Number.isSafeInteger(Number(number[0])) ? Number(number[0]) : BigInt(number[0]);
    }
    throw new NotALiteral();
  }

  private dict(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.eat('}')) return out;
      const key = this.value(depth + 1);
      this.skipSpace();
      if (!this.eat(':')) throw new NotALiteral();
      out[String(key)] = this.value(depth + 1);
      this.skipSpace();
      if (!this.eat(',') && !this.peek('}')) throw new NotALiteral();
    }
  }

  private sequence(close: string, depth: number): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.eat(close)) return out;
      out.push(this.value(depth + 1));
      this.skipSpace();
      if (!this.eat(',') && !this.peek(close)) throw new NotALiteral();
    }
  }

  /** A quoted string from the current quote: its text so far, and whether its closing quote came. */
  stringPrefix(): { text: string; closed: boolean } {
    const quote = this.text[this.pos++]!;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++]!;
      if (ch === quote) return { text: out, closed: true };
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      if (this.pos >= this.text.length) break;
      const next = this.text[this.pos++]!;
      const hexWidth = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
      if (hexWidth > 0) {
        const hex = this.text.slice(this.pos, this.pos + hexWidth);
        // An escape cut by the end of the text is dropped; a malformed one is not a literal.
        if (hex.length < hexWidth && this.pos + hex.length >= this.text.length) break;
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexWidth || parseInt(hex, 16) > 0x10ffff) throw new NotALiteral();
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += hexWidth;
      } else {
        out += ESCAPES[next] ?? `\\${next}`;
      }
    }
    return { text: out, closed: false };
  }

  eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }
}
