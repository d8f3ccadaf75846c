/**
 * The opening of every agent conversation: the system message (a template with `{tool_list}` and
 * `{functions}` or `{function_signatures}` filled in, docs/toolbench-formats.md §c) and the user turn `"\n" + query + "\nBegin!\n"`.
 */
import { TOOLBENCH_FITTING, type FittingPolicy } from '../../toolbench/fitting.js';
import { queryFunctions, type ToolFunction, type ToolQuery } from '../../toolbench/functions.js';
import { systemPromptFor } from '../../toolbench/promptTemplate.js';
import type { ToolLlamaMessage } from '../../toolbench/render.js';

export interface ConversationStart {
  functions: ToolFunction[];
  messages: ToolLlamaMessage[];
}

/**
 * `toolDescriptions` (by standardized tool name) fills the tool list when known; the test files
 * carry none, and ToolBench then writes `None`. `fitting` shortens only the printed function
 * list; the returned functions are whole, for resolving and checking calls.
 */
export function startConversation(
  query: ToolQuery,
  template: string,
  toolDescriptions: Readonly<Record<string, string>> = {},
  fitting: FittingPolicy = TOOLBENCH_FITTING,
): ConversationStart {
  const system = systemPromptFor(template, query, toolDescriptions, fitting);
  return {
    functions: queryFunctions(query),
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: `\n${query.query}\nBegin!\n` },
    ],
  };
}
