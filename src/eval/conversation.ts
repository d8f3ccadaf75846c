/**
 * The opening of every agent conversation: the system message (a template with `{tool_list}` and
 * `{functions}` filled in, docs/toolbench-formats.md §c) and the user turn `"\n" + query + "\nBegin!\n"`.
 */
import { queryFunctions, toolListLines, type ToolFunction, type ToolQuery } from '../toolbench/functions.js';
import { fillPromptTemplate } from '../toolbench/promptTemplate.js';
import { pythonRepr } from '../toolbench/pythonRepr.js';
import type { ChatMessage } from './policy.js';

export interface ConversationStart {
  functions: ToolFunction[];
  messages: ChatMessage[];
}

/**
 * `toolDescriptions` (by standardized tool name) fills the tool list when known; the test files
 * carry none, and ToolBench then writes `None`.
 */
export function startConversation(
  query: ToolQuery,
  template: string,
  toolDescriptions: Readonly<Record<string, string>> = {},
): ConversationStart {
  const functions = queryFunctions(query);
  const system = fillPromptTemplate(template, {
    tool_list: toolListLines(query, toolDescriptions),
    functions: pythonRepr(functions),
  });
  return {
    functions,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: `\n${query.query}\nBegin!\n` },
    ],
  };
}
