/**
 * Reading a JSON text that was cut off: 230 `template_response` fields hold the first 1,000
 * characters of a larger skeleton, cut mid-token (docs/toolbench-formats.md §a). This reader keeps every member
 * that was complete before the cut and closes the open containers, so the simulator can still
 * answer in the API's shape. Complete JSON reads as JSON.parse would read it.
 */

class Cut extends Error {}

export function parsePartialJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not complete JSON: read what is there.
  }
  const reader = new PartialReader(text);
  try {
    return reader.value();
  } catch (e) {
    if (e instanceof Cut) return undefined;
    throw e;
  }
}

class PartialReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  value(): unknown {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === undefined) throw new Cut();
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return this.string();
    return this.literal();
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.peek() === '}') {
        this.pos++;
        return out;
      }
      try {
        const key = this.string();
        this.skipSpace();
        this.expect(':');
        out[key] = this.value();
        this.skipSpace();
        if (this.peek() === ',') this.pos++;
        else if (this.peek() !== '}') throw new Cut();
      } catch (e) {
        if (e instanceof Cut) return out;
        throw e;
      }
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.peek() === ']') {
        this.pos++;
        return out;
      }
      try {
        out.push(this.value());
        this.skipSpace();
        if (this.peek() === ',') this.pos++;
        else if (this.peek() !== ']') throw new Cut();
      } catch (e) {
        if (e instanceof Cut) return out;
        throw e;
      }
    }
  }

  private string(): string {
    if (this.peek() !== '"') throw new Cut();
    let end = this.pos + 1;
    while (end < this.text.length && this.text[end] !== '"') end += this.text[end] === '\\' ? 2 : 1;
    if (end >= this.text.length) throw new Cut();
    const literal = this.text.slice(this.pos, end + 1);
    this.pos = end + 1;
    return JSON.parse(literal) as string;
  }

  private literal(): unknown {
    const match = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.pos));
    // A literal running into the end of the text may itself be cut (`tr`, `12` of `123`).
    if (!match || this.pos + match[0].length >= this.text.length) throw new Cut();
    this.pos += match[0].length;
    return JSON.parse(match[0]);
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw new Cut();
    this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
}
