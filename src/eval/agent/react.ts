/**
 * Reading the model's ReAct text: `Thought: …\nAction: …\nAction Input: …`.
 *
 * ToolBench's parser takes each field between the first occurrence of its marker and the first
 * occurrence of the next one, using Python `str.find` and slicing; a missing marker (find = -1)
 * yields odd but well-defined slices rather than an error (docs/toolbench-formats.md §c). kiln
 * reproduces exactly those slices, so a model evaluated here sees the same actions it would under
 * ToolBench, and also reports whether the strict reading succeeded (all markers present, in order).
 */

export interface ReactAction {
  thought: string;
  action: string;
  actionInput: string;
  /** All three markers were present and in order. */
  strict: boolean;
}

const THOUGHT = 'Thought: ';
const ACTION = 'Action: ';
const ACTION_INPUT = 'Action Input: ';

export function parseReact(text: string): ReactAction {
  const s = text.trim();
  const thoughtAt = s.indexOf(THOUGHT);
  const actionLineAt = s.indexOf(`\n${ACTION}`);
  const actionAt = s.indexOf(ACTION);
  const inputLineAt = s.indexOf(`\n${ACTION_INPUT}`);
  const inputAt = s.indexOf(ACTION_INPUT);
  const strict =
    thoughtAt >= 0 && actionLineAt > thoughtAt && inputLineAt > actionLineAt && inputAt > 0;
  return {
    thought: pySlice(s, thoughtAt + THOUGHT.length, actionLineAt),
    // The action name is trimmed: a trailing space or newline must not change which function it names.
    action: pySlice(s, actionAt + ACTION.length, inputLineAt).trim(),
    actionInput: pySlice(s, inputAt + ACTION_INPUT.length, s.length),
    strict,
  };
}

/** The text kiln trains on and feeds back as the assistant turn (docs/toolbench-formats.md §c). */
export function renderReact(step: { thought: string; action: string; actionInput: string }): string {
  return `\nThought: ${step.thought}\nAction: ${step.action}\nAction Input: ${step.actionInput}`;
}

/**
 * Where the JSON object after the first `Action Input: ` ends (the index just past its closing
 * brace), or -1 while it is incomplete or is not an object. A kiln policy can stop generating
 * there: whatever a model writes after the object would only make the Action Input invalid JSON.
 */
export function actionInputEnd(text: string): number {
  const marker = text.indexOf(ACTION_INPUT);
  if (marker < 0) return -1;
  let i = marker + ACTION_INPUT.length;
  while (text[i] === ' ') i++;
  if (text[i] !== '{') return -1;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Python's `s[start:end]` for integer bounds, negative ones counting from the end. */
function pySlice(s: string, start: number, end: number): string {
  const n = s.length;
  const from = start < 0 ? Math.max(0, n + start) : Math.min(start, n);
  const to = end < 0 ? Math.max(0, n + end) : Math.min(end, n);
  return to > from ? s.slice(from, to) : '';
}
