/**
 * Python's `str()` / `repr()` of a JSON-like value, byte-exact.
 *
 * ToolLLaMA's system prompt appends `str(functions)` (a Python list of dicts), so the function list
 * in the prompt is Python repr, not JSON (docs/toolbench-formats.md §b).
 *
 * Numbers: JavaScript has one number type, Python has int and float. A JS number with an integral
 * value prints as an int (`1` → `1`), any other as a float (`0.5` → `0.5`). To print a float whose
 * value is integral (Python `1.0`), wrap it in `PyFloat`; to print an int beyond 2^53 exactly, pass
 * a `bigint`. `parseJsonLossless` (jsonLossless.ts) produces exactly these from JSON text.
 */

/** A number that Python holds as a float, even when its value is integral (`1.0`, `1e+16`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return pythonStringRepr(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    return Number.isInteger(value) ? pythonIntRepr(value) : pythonFloatRepr(value);
  }
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const items = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${pythonStringRepr(k)}: ${pythonRepr(v)}`,
    );
    return `{${items.join(', ')}}`;
  }
  throw new Error(`pythonRepr: unsupported value of type ${typeof value}`);
}

function pythonIntRepr(n: number): string {
  // BigInt avoids the exponent form String() uses from 1e21 on; Python ints never use one.
  return Object.is(n, -0) ? '0' : BigInt(n).toString();
}

/**
 * CPython's float repr: the shortest digits that round-trip (the same digits JS chooses), laid out
 * as fixed-point when the decimal exponent is in [-4, 16) and as `d.ddde±XX` otherwise.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest round-trip digits: "d.ddde±N".
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const digits = mantissa!.replace('.', '');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expSign = exp < 0 ? '-' : '+';
    return `${sign}${digits[0]}${frac}e${expSign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fracPart = digits.slice(exp + 1);
  return `${sign}${intPart}.${fracPart === '' ? '0' : fracPart}`;
}

// Python's str.isprintable() is false for these general categories (and true for the ASCII space).
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** CPython `unicode_repr`: quote choice, escapes, printable non-ASCII kept literally. */
export function pythonStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (!NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + quote;
}

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}
