/**
 * Finding the printed function list inside a system prompt, so that over-long examples can drop
 * functions. The list is Python `str()` of a list of dicts (docs/toolbench-formats.md §b), each dict starting with
 * its `'name'`; ToolLLaMA's prompt and kiln's demo prompt both end with it.
 */

export interface FunctionListItem {
  name: string;
  /** `[start, end)` of the item's text (one dict) in the system prompt. */
  start: number;
  end: number;
}

export interface FunctionListText {
  /** `[start, end)` of the whole list, brackets included. */
  start: number;
  end: number;
  items: FunctionListItem[];
}

const LIST_START = "[{'name': ";
const NAME_AT_ITEM_START = /^\{'name': '([^'\\]*)'/;

/** Locates the function list (the first `[{'name': ` that scans as a whole Python list), or null. */
export function findFunctionList(system: string): FunctionListText | null {
  for (let at = system.indexOf(LIST_START); at >= 0; at = system.indexOf(LIST_START, at + 1)) {
    const list = scanList(system, at);
    if (list !== null) return list;
  }
  return null;
}

/** Scans a Python-repr list starting at `start` (a `[`), tracking quotes, escapes and nesting. */
function scanList(text: string, start: number): FunctionListText | null {
  const items: FunctionListItem[] = [];
  let depth = 0;
  let quote: string | null = null;
  let itemStart = -1;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '[' || ch === '{') {
      if (depth === 1) itemStart = i;
      depth++;
    } else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 1) {
        const name = NAME_AT_ITEM_START.exec(text.slice(itemStart, itemStart + 200));
        if (name === null) return null;
        items.push({ name: name[1]!, start: itemStart, end: i + 1 });
      } else if (depth === 0) {
        return { start, end: i + 1, items };
      }
    }
  }
  return null;
}

/** The system prompt with only the listed items kept (in their order), printed as Python does. */
export function keepFunctions(system: string, list: FunctionListText, keep: readonly FunctionListItem[]): string {
  const body = keep.map((item) => system.slice(item.start, item.end)).join(', ');
  return `${system.slice(0, list.start)}[${body}]${system.slice(list.end)}`;
}
