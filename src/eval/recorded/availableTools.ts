/**
 * A query built from a recording's `available_tools` (ToolEval's converted answers carry the
 * function list, not the api_list it came from). The functions are kept verbatim, the recorded
 * Finish wording included, and an api_list entry is derived for each API function so that tool
 * environments and argument checks work: tool and API names from the function name, parameters
 * from its schema. Converted answers carry no "relevant APIs".
 */
import type { ApiEntry, ApiParameter, ToolFunction, ToolQuery } from '../../toolbench/functions.js';
import { FINISH_FUNCTION } from '../../toolbench/functions.js';

export function queryFromAvailableTools(queryId: number, text: string, tools: unknown, where: string): ToolQuery {
  if (!Array.isArray(tools)) throw new Error(`${where}: field "available_tools" must be an array of functions`);
  const functions = tools.map((t, i) => readFunction(t, `${where}: available_tools[${i}]`));
  const apis = functions.filter((f) => f.name !== 'Finish');
  const finish = functions.find((f) => f.name === 'Finish') ?? FINISH_FUNCTION;
  return {
    query: text,
    query_id: queryId,
    api_list: apis.map(apiEntryOf),
    'relevant APIs': [],
    // Finish last, so a function's index is its api_list index.
    functions: [...apis, finish],
  };
}

function readFunction(raw: unknown, where: string): ToolFunction {
  if (!isObject(raw)) throw new Error(`${where}: expected a function object`);
  if (typeof raw.name !== 'string') throw new Error(`${where}: field "name" must be a string`);
  const parameters = raw.parameters ?? { type: 'object', properties: {}, required: [] };
  if (!isObject(parameters) || (parameters.properties !== undefined && !isObject(parameters.properties))) {
    throw new Error(`${where}: field "parameters" must be an object with a "properties" object`);
  }
  for (const list of ['required', 'optional'] as const) {
    const names = parameters[list];
    if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string'))) {
      throw new Error(`${where}: field "parameters.${list}" must be a list of names`);
    }
  }
  return {
    name: raw.name,
    description: typeof raw.description === 'string' ? raw.description : '',
    parameters: { ...parameters, properties: parameters.properties ?? {}, required: parameters.required ?? [] } as ToolFunction['parameters'],
  };
}

const TYPE_LABELS: Record<string, string> = { integer: 'NUMBER', number: 'NUMBER', boolean: 'BOOLEAN' };

/** The api_list entry a function stands for: `<api>_for_<tool>`, the tool named in its description. */
function apiEntryOf(fn: ToolFunction): ApiEntry {
  const declared = /subfunction for tool "([^"]*)"/.exec(fn.description)?.[1];
  const at = declared !== undefined && fn.name.endsWith(`_for_${declared}`) ? fn.name.length - declared.length - 5 : fn.name.lastIndexOf('_for_');
  const tool = declared ?? (at >= 0 ? fn.name.slice(at + 5) : '');
  const param = (name: string): ApiParameter => {
    const schema = fn.parameters.properties[name];
    return {
      name,
      type: TYPE_LABELS[schema?.type ?? ''] ?? 'STRING',
      description: schema?.description ?? '',
      default: schema?.example_value ?? '',
    };
  };
  const required = fn.parameters.required;
  const optional = fn.parameters.optional ?? Object.keys(fn.parameters.properties).filter((k) => !required.includes(k));
  return {
    category_name: '',
    tool_name: tool,
    api_name: at >= 0 ? fn.name.slice(0, at) : fn.name,
    api_description: '',
    required_parameters: required.map(param),
    optional_parameters: optional.map(param),
    method: 'GET',
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
