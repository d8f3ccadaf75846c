/**
 * A JSON parser that keeps what Python's `json.loads` keeps and `JSON.parse` loses:
 * - a float literal with an integral value (`1.0`, `1e+16`) stays a float → `PyFloat`;
 * - an integer literal beyond 2^53 stays exact → `bigint`.
 * Everything else is what JSON.parse returns. Use it where a value will be printed with
 * `pythonRepr` and must match Python byte for byte (e.g. `default` values in an api_list).
 */
import { PyFloat } from './pythonRepr.js';

export function parseJsonLossless(text: string): unknown {
  const parser = new LosslessParser(text);
  parser.skipWhitespace();
  const value = parser.parseValue();
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected text after the JSON value');
  return value;
}

class LosslessParser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new SyntaxError(`JSON parse error at offset ${this.pos}: ${message}`);
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  parseValue(): unknown {
    const ch = this.text[this.pos];
    if (ch === '{') return this.parseObject();
    if (ch === '[') return this.parseArray();
    if (ch === '"') return this.parseString();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.parseNumber();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail(ch === undefined ? 'unexpected end of text' : `unexpected character ${JSON.stringify(ch)}`);
  }

  private parseObject(): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      this.skipWhitespace();
      // defineProperty, so that a "__proto__" key is an own property as with JSON.parse.
      Object.defineProperty(obj, key, {
        value: this.parseValue(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipWhitespace();
      const sep = this.text[this.pos++];
      if (sep === '}') return obj;
      if (sep !== ',') this.fail("expected ',' or '}'");
    }
  }

  private parseArray(): unknown[] {
    const arr: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return arr;
    }
    for (;;) {
      this.skipWhitespace();
      arr.push(this.parseValue());
      this.skipWhitespace();
      const sep = this.text[this.pos++];
      if (sep === ']') return arr;
      if (sep !== ',') this.fail("expected ',' or ']'");
    }
  }

  private parseString(): string {
    // Find the closing quote (skipping escaped characters) and let JSON.parse decode the escapes.
    const start = this.pos;
    this.pos++;
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === undefined) this.fail('unterminated string');
      if (ch === '\\') this.pos += 2;
      else if (ch === '"') break;
      else this.pos++;
    }
    this.pos++;
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  private parseNumber(): number | bigint | PyFloat {
    const match = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!match) return this.fail('malformed number');
    this.pos += match[0].length;
    const isFloat = match[1] !== undefined || match[2] !== undefined;
    const value = Number(match[0]);
    if (isFloat) return Number.isInteger(value) ? new PyFloat(value) : value;
    return Number.isSafeInteger(value) ? value : BigInt(match[0]);
  }
}
