/**
 * The values that survive whole in a reply text that did not parse: a JSON or Python literal cut
 * short (ToolBench cuts observations at 1,024 characters, ToolEval's converted answers cut each
 * call at 100), or free text. A string counts only when its closing quote survives and it is a
 * value, not a key; a number only when something follows it; free text loses its last, possibly
 * cut, word. A fragment such as `[{'id': ` leaves nothing. The scan is one pass, no recursion.
 */

export interface Leaves {
  strings: string[];
  numbers: number[];
}

const JSON_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '/': '/', '\\': '\\', '"': '"', "'": "'" };

export function wholeLeaves(text: string, cut: boolean): Leaves {
  const trimmed = text.trimStart();
  if (!/^[[{'"(]/.test(trimmed)) return proseLeaves(text, cut);
  const strings: string[] = [];
  const numbers: number[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' || ch === "'") {
      const s = readQuoted(text, i);
      if (s === null) break;
      i = s.end;
      let j = i;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === ':') continue;
      // A string at the very end may still have been a key.
      if (j >= text.length && cut) break;
      strings.push(s.text);
      continue;
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number && !/[\w.]/.test(text[i - 1] ?? ' ')) {
      const end = i + number[0].length;
      if (end >= text.length && cut) break;
      numbers.push(Number(number[0]));
      i = end;
      continue;
    }
    i++;
  }
  return { strings, numbers };
}

/** A quoted string starting at `start`: its decoded text and the index after it, or null when cut. */
function readQuoted(text: string, start: number): { text: string; end: number } | null {
  const quote = text[start]!;
  let out = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i++]!;
    if (ch === quote) return { text: out, end: i };
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[i++];
    if (next === undefined) return null;
    if (next === 'u' || next === 'x') {
      const width = next === 'u' ? 4 : 2;
      const hex = text.slice(i, i + width);
      if (hex.length < width) return null;
      out += /^[0-9a-fA-F]+$/.test(hex) ? String.fromCharCode(parseInt(hex, 16)) : '';
      i += width;
    } else {
      out += JSON_ESCAPES[next] ?? next;
    }
  }
  return null;
}

function proseLeaves(text: string, cut: boolean): Leaves {
  const kept = cut ? text.replace(/[\p{L}\p{N}_.,-]*$/u, '') : text;
  const numbers = [...kept.matchAll(/(?<![\w.])-?\d+(\.\d+)?(?![\w])/g)].map((m) => Number(m[0]));
  return { strings: kept.trim() === '' ? [] : [kept], numbers };
}
