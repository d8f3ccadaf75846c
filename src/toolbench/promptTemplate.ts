/**
 * System-prompt templates with the placeholders `{tool_list}` (toolListLines), `{functions}`
 * (pythonRepr of queryFunctions, ToolBench's rendering) and `{function_signatures}` (the same
 * functions one line each, functionSignatures.ts). The inserted texts are full of braces, so
 * placeholders are replaced literally, in one pass, never by a format engine.
 */
import { fitFunctions, TOOLBENCH_FITTING, type FittingPolicy } from './fitting.js';
import { signatureList } from './functionSignatures.js';
import { queryFunctions, toolListLines, type ToolQuery } from './functions.js';
import { pythonRepr } from './pythonRepr.js';

export interface PromptTemplateValues {
  tool_list: string;
  functions: string;
  /** Needed only by templates that use `{function_signatures}`. */
  function_signatures?: string;
}

const PLACEHOLDER = /\{(tool_list|functions|function_signatures)\}/g;

/** Whether a template shows the model its functions, in either rendering. */
export function hasFunctionsPlaceholder(template: string): boolean {
  return template.includes('{functions}') || template.includes('{function_signatures}');
}

/** Replaces every `{tool_list}`, `{functions}` and `{function_signatures}` in `template` with the given texts. */
export function fillPromptTemplate(template: string, values: PromptTemplateValues): string {
  // One pass with a replacer function: inserted text is never rescanned, and `$` in it is literal.
  return template.replace(PLACEHOLDER, (_match, key: keyof PromptTemplateValues) => {
    const value = values[key];
    if (value === undefined) throw new Error(`fillPromptTemplate: no text for the {${key}} placeholder`);
    return value;
  });
}

/**
 * The system prompt for a query: `template` filled with the query's tool list and its functions,
 * as `fitting` shortens them, in either rendering.
 */
export function systemPromptFor(
  template: string,
  query: Pick<ToolQuery, 'api_list'>,
  toolDescriptions: Readonly<Record<string, string>> = {},
  fitting: FittingPolicy = TOOLBENCH_FITTING,
): string {
  const functions = fitFunctions(queryFunctions(query), fitting);
  return fillPromptTemplate(template, {
    tool_list: toolListLines(query, toolDescriptions),
    functions: pythonRepr(functions),
    function_signatures: signatureList(functions),
  });
}

/**
 * The inverse of fillPromptTemplate for a prompt with one insertion of each: finds the exact
 * inserted texts in `systemText` and puts the placeholders back. The functions text is taken at
 * its last occurrence (ToolBench appends it at the end) and the tool list at its last occurrence
 * before that. Use it to recover the template a training set was built with.
 */
export function extractPromptTemplate(systemText: string, values: PromptTemplateValues): string {
  if (values.functions === '' || values.tool_list === '') {
    throw new Error('extractPromptTemplate: an empty {tool_list} or {functions} text cannot be located');
  }
  const functionsAt = systemText.lastIndexOf(values.functions);
  if (functionsAt < 0) {
    throw new Error(
      `extractPromptTemplate: the {functions} text (${values.functions.length} chars, starting ` +
        `${JSON.stringify(values.functions.slice(0, 60))}) does not occur in the system text`,
    );
  }
  const toolListAt = systemText.lastIndexOf(values.tool_list, functionsAt - values.tool_list.length);
  if (toolListAt < 0 || toolListAt + values.tool_list.length > functionsAt) {
    throw new Error(
      `extractPromptTemplate: the {tool_list} text ${JSON.stringify(values.tool_list.slice(0, 60))} ` +
        'does not occur in the system text before the {functions} text',
    );
  }
  return (
    systemText.slice(0, toolListAt) +
    '{tool_list}' +
    systemText.slice(toolListAt + values.tool_list.length, functionsAt) +
    '{functions}' +
    systemText.slice(functionsAt + values.functions.length)
  );
}

/**
 * kiln's own short system prompt, for models trained from scratch on kiln's demo data (a small
 * context leaves no room for ToolBench's 1,900-character preamble). It keeps ToolLLaMA's layout:
 * the tool list, then the function list last.
 */
export const KILN_DEMO_PROMPT_TEMPLATE =
  'Solve the task with function calls, one per step, in this format:\n' +
  'Thought: <reasoning>\nAction: <function name>\nAction Input: <JSON arguments>\n' +
  'End with Finish.\nTools:\n{tool_list}Functions: {functions}';
