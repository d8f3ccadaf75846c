/**
 * Random damage to valid inputs, for the loaders' property tests: structural edits of a parsed
 * JSON value (drop a key, replace a value by any JSON value, wrap it deeply, cut a string) and
 * byte-level edits of its text (cut, delete, insert, flip). Each edit picks its target by index,
 * so fast-check can shrink a failing case to the few edits that matter.
 */
import fc from 'fast-check';

export type ValueEdit = { at: number; kind: 'delete' | 'replace' | 'wrap' | 'cut' | 'stringify'; with: unknown; depth: number };
export type TextEdit = { at: number; kind: 'cut' | 'delete' | 'insert' | 'flip'; char: string };

export const valueEdits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('delete', 'replace', 'wrap', 'cut', 'stringify'),
    with: fc.jsonValue({ maxDepth: 2 }),
    depth: fc.integer({ min: 1, max: 1000 }),
  }) as fc.Arbitrary<ValueEdit>,
  { minLength: 1, maxLength: 4 },
);

export const textEdits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('cut', 'delete', 'insert', 'flip'),
    char: fc.constantFrom('{', '}', '[', ']', '"', "'", ',', ':', '\\', 'x', '0', '\u0000', '\u00e9', '\ud83d'),
  }) as fc.Arbitrary<TextEdit>,
  { minLength: 1, maxLength: 4 },
);

/** Every (holder, key) slot in a value, in a fixed order. */
function slots(root: unknown): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const key of Object.keys(v)) {
      const k = Array.isArray(v) ? Number(key) : key;
      out.push([v as Record<string | number, unknown>, k]);
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return out;
}

export function mutateValue<T>(value: T, edits: ValueEdit[]): unknown {
  const root = { v: structuredClone(value) as unknown };
  for (const e of edits) {
    const all = slots(root);
    const [holder, key] = all[e.at % all.length]!;
    const old = holder[key];
    if (e.kind === 'delete') {
      if ((holder as unknown) === root) holder[key] = null;
      else if (Array.isArray(holder)) holder.splice(key as number, 1);
      else delete holder[key];
    } else if (e.kind === 'replace') holder[key] = e.with;
    else if (e.kind === 'wrap') {
      let w: unknown = old;
      for (let i = 0; i < e.depth; i++) w = [w];
      holder[key] = w;
    } else if (e.kind === 'cut') holder[key] = typeof old === 'string' ? old.slice(0, e.depth % (old.length + 1)) : old;
    else holder[key] = typeof old === 'object' && old !== null ? JSON.stringify(old).slice(0, 5000) : String(old);
  }
  return root.v;
}

export function mutateText(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    if (e.kind === 'cut') out = out.slice(0, at);
    else if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + 1);
    else if (e.kind === 'insert') out = out.slice(0, at) + e.char + out.slice(at);
    else out = out.slice(0, at) + e.char + out.slice(at + 1);
  }
  return out;
}

/** A JSON text that may nest deeper than JSON.stringify can write. */
export function deepJson(depth: number, inner = '1'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}
