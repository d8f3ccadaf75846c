/**
 * The system-prompt template a training set was rendered with, recovered from its first
 * conversation: the function list is found where it is printed (functionListText.ts) and the tool
 * list as the last run of `k.<tool>: <description>` lines numbered 1, 2, ... before it; both are
 * put back as `{tool_list}` and `{functions}`. The evaluation then poses test queries in the words
 * the model was trained on, with no template file to supply.
 */
import { extractPromptTemplate } from '../toolbench/promptTemplate.js';
import { findFunctionList } from '../train/data/functionListText.js';
import { readConversations } from '../train/data/validate.js';

// One tool-list line: ToolBench's standardized tool name (letters, digits, _, ^, CJK), then `: `.
const TOOL_LINE = /^(\d+)\.[\w^\u4e00-\u9fa5]+: [^\n]*$/u;

/** The template of `system`, or null when it holds no function list or no tool list. */
export function recoverPromptTemplate(system: string): string | null {
  const list = findFunctionList(system);
  if (list === null) return null;
  const lines = system.slice(0, list.start).split('\n');
  // Walk back to the last numbered block: its lines must count 1..n in order.
  for (let end = lines.length - 1; end >= 0; end--) {
    if (!TOOL_LINE.test(lines[end]!)) continue;
    let start = end;
    while (start > 0 && TOOL_LINE.test(lines[start - 1]!)) start--;
    const block = lines.slice(start, end + 1);
    if (!block.every((line, k) => Number(TOOL_LINE.exec(line)![1]) === k + 1)) return null;
    try {
      return extractPromptTemplate(system, {
        tool_list: block.map((line) => `${line}\n`).join(''),
        functions: system.slice(list.start, list.end),
      });
    } catch {
      return null;
    }
  }
  return null;
}

/** The template of the first conversation under `paths` that has a system prompt. */
export async function recoverTemplateFromData(paths: readonly string[]): Promise<string | null> {
  for await (const outcome of readConversations(paths)) {
    if (!outcome.ok) continue;
    for (const conv of outcome.conversations) {
      const system = conv.conversations.find((t) => t.from === 'system');
      if (system) return recoverPromptTemplate(system.value);
    }
  }
  return null;
}
