/**
 * An action's input as ToolBench reads it: JSON that may hold raw control characters inside
 * strings (Python's `json.loads(s, strict=False)`), and Finish's arguments read from it. The
 * agent executes actions with these and the judges read answers with them, so both agree.
 */

/**
 * Finish's arguments as ToolBench reads them: JSON that may hold raw control characters inside
 * strings, else substring sniffing (docs/toolbench-formats.md §b, Finish semantics).
 */
export function readFinishArguments(input: string): { returnType?: string; finalAnswer?: unknown } {
  const parsed = parseJsonAllowingControlChars(input);
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const obj = parsed as Record<string, unknown>;
    return {
      ...(obj.return_type !== undefined ? { returnType: String(obj.return_type) } : {}),
      ...(obj.final_answer !== undefined ? { finalAnswer: obj.final_answer } : {}),
    };
  }
  const out: { returnType?: string; finalAnswer?: unknown } = {};
  if (input.includes('"return_type": "give_answer"')) out.returnType = 'give_answer';
  else if (input.includes('"return_type": "give_up_and_restart"')) out.returnType = 'give_up_and_restart';
  else {
    const at = input.indexOf('"return_type": "');
    if (at >= 0) {
      const rest = input.slice(at + '"return_type": "'.length);
      const end = rest.indexOf('",');
      out.returnType = end >= 0 ? rest.slice(0, end) : rest;
    }
  }
  const answerAt = input.indexOf('"final_answer": "');
  if (answerAt >= 0) out.finalAnswer = input.slice(answerAt + '"final_answer": "'.length);
  return out;
}

/** Python's `json.loads(s, strict=False)`: raw control characters are allowed inside strings. */
export function parseJsonAllowingControlChars(text: string): unknown {
  let escaped = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString && ch === '\\') {
      escaped += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    const code = ch.charCodeAt(0);
    escaped += inString && code < 0x20 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  try {
    return JSON.parse(escaped);
  } catch {
    return null;
  }
}
