/**
 * Reading Python literals — what `ast.literal_eval` accepts for data: dicts, lists, tuples,
 * strings in either quote, numbers, True/False/None. The RapidAPI server returns Python's `str()`
 * of an API's reply (FORMAT.md §d), so this is how the judge reads a response back into values;
 * training reads a prompt's function list back with it to apply a fitting policy. Returns undefined for text that is not one complete literal.
 */
import { PyFloat } from './pythonRepr.js';

export function parsePythonLiteral(text: string, options: { exactNumbers?: boolean } = {}): unknown {
  const reader = new LiteralReader(text, options.exactNumbers === true);
  try {
    const value = reader.value();
    reader.skipSpace();
    return reader.atEnd() ? value : undefined;
  } catch (e) {
    if (e instanceof NotALiteral) return undefined;
    throw e;
  }
}

class NotALiteral extends Error {}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

class LiteralReader {
  private pos = 0;
  /** exactNumbers: floats as PyFloat and ints beyond 2^53 as bigint, so pythonRepr prints them back unchanged. */
  constructor(
    private readonly text: string,
    private readonly exactNumbers: boolean,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  value(): unknown {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '{') return this.dict();
    if (ch === '[') return this.sequence(']');
    if (ch === '(') return this.sequence(')');
    if (ch === "'" || ch === '"') return this.string();
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

  private dict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.eat('}')) return out;
      const key = this.value();
      this.skipSpace();
      if (!this.eat(':')) throw new NotALiteral();
      out[String(key)] = this.value();
      this.skipSpace();
      if (!this.eat(',') && this.text[this.pos] !== '}') throw new NotALiteral();
    }
  }

  private sequence(close: string): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.eat(close)) return out;
      out.push(this.value());
      this.skipSpace();
      if (!this.eat(',') && this.text[this.pos] !== close) throw new NotALiteral();
    }
  }

  private string(): string {
    const quote = this.text[this.pos++]!;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++]!;
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const next = this.text[this.pos++] ?? '';
      const hexWidth = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
      if (hexWidth > 0) {
        const hex = this.text.slice(this.pos, this.pos + hexWidth);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexWidth) throw new NotALiteral();
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += hexWidth;
      } else {
        out += ESCAPES[next] ?? `\\${next}`;
      }
    }
    throw new NotALiteral();
  }

  private eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }
}
