/**
 * How deeply a parsed JSON value nests, measured without recursion. Replies and answers come from
 * servers and models kiln does not control; anything nested past MAX_NESTING is refused where it
 * is read, so the recursive walks after it (serialisation, judges) stay within the stack.
 */

/** Far deeper than any real tool reply or answer (they rarely pass 20). */
export const MAX_NESTING = 256;

/** The depth of `value` (a scalar is 0), counted up to `limit + 1` at most. */
export function nestingDepth(value: unknown, limit = MAX_NESTING): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, here]);
    }
  }
  return deepest;
}

export function tooDeep(value: unknown): boolean {
  return nestingDepth(value) > MAX_NESTING;
}
