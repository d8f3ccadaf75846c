/**
 * One function under two spellings. ToolBench's `standardize` puts `get_` before a name that
 * starts with a digit, but older recordings were made without that step, so a recorded
 * `4d_results_for_x` is kiln's `get_4d_results_for_x` (and a tool part `_for_4d…` is `_for_get_4d…`).
 */

/** The name with `get_` dropped wherever standardize would have added it before a digit. */
export function canonicalFunctionName(name: string): string {
  return name.replace(/(^|_for_)get_(?=\d)/g, '$1');
}

export function sameFunction(a: string, b: string): boolean {
  return a === b || canonicalFunctionName(a) === canonicalFunctionName(b);
}
