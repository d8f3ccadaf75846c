/**
 * Python's `json.dumps` with its defaults, as ToolBench serialises a tool's reply into the
 * observation text and as ToolEval prints answers to its judge.
 */
import { PyFloat, pythonFloatRepr } from '../../toolbench/pythonRepr.js';
import { MAX_NESTING } from './nesting.js';

/**
 * `json.dumps(value)` with Python's defaults (ensure_ascii, default separators, key order kept).
 * Values nested past MAX_NESTING are refused with an error rather than overflowing the stack.
 */
export function pythonJsonDumps(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return jsonStringAscii(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    return Number.isInteger(value) ? BigInt(value).toString() : pythonFloatRepr(value);
  }
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (depth >= MAX_NESTING) throw new Error(`pythonJsonDumps: value nested deeper than ${MAX_NESTING} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => pythonJsonDumps(v, depth + 1)).join(', ')}]`;
  if (typeof value === 'object') {
    const items = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${jsonStringAscii(k)}: ${pythonJsonDumps(v, depth + 1)}`,
    );
    return `{${items.join(', ')}}`;
  }
  throw new Error(`pythonJsonDumps: unsupported value of type ${typeof value}`);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal with every non-ASCII UTF-16 unit escaped as `\uXXXX`, as Python writes it. */
function jsonStringAscii(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const unit = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${unit.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
