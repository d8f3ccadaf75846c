/**
 * ToolBench's API → function conversion (docs/toolbench-formats.md §b), the `{tool_list}` text, and how a called
 * name is resolved to a function. The rules are ToolBench's (OpenBMB/ToolBench commit d56fdd8,
 * `toolbench/utils.py` and `rapidapi.py`), restated in docs/toolbench-formats.md; test/toolbench/functions.test.ts
 * checks them against ToolBench's own prompt examples when the ToolBench data is present.
 */

/** One parameter of an API entry: exactly `name, type, description, default` in ToolBench's data. */
export interface ApiParameter {
  name: string;
  /** RapidAPI's label: `STRING`, `NUMBER`, `BOOLEAN`, `ENUM`, `DATE (YYYY-MM-DD)`, ... */
  type: string;
  description: string;
  /** An example value; `""` means none. May be a string, number, boolean or list. */
  default: unknown;
}

/** An element of a query's `api_list` (docs/toolbench-formats.md §a). */
export interface ApiEntry {
  category_name: string;
  tool_name: string;
  api_name: string;
  api_description: string;
  required_parameters: ApiParameter[];
  optional_parameters: ApiParameter[];
  method: string;
  /** A typed skeleton of a response; absent in about a third of entries; a cut-off string when long. */
  template_response?: unknown;
}

/** A test or train query record (test/<category>.json, train-sample/instruction/G*_query.json). */
export interface ToolQuery {
  query: string;
  query_id: number;
  api_list: ApiEntry[];
  /** Pairs of original (non-normalised) `[tool_name, api_name]`; note the space in the key. */
  'relevant APIs': [string, string][];
  /**
   * The offered functions exactly as a recording lists them (ToolEval's `available_tools`, Finish
   * last, in whichever wording it used); when present they replace the conversion of api_list.
   */
  functions?: ToolFunction[];
}

/** A property of a function's parameters schema. Key order matters for the prompt text. */
export interface ParameterSchema {
  type: string;
  description?: string;
  example_value?: unknown;
  enum?: string[];
}

export interface ToolFunction {
  name: string;
  description: string;
  parameters: {
    type: 'object';
    properties: Record<string, ParameterSchema>;
    required: string[];
    /** Present on API functions, absent on Finish. */
    optional?: string[];
  };
}

/**
 * ToolBench's name normalisation (docs/toolbench-formats.md §b): everything but ASCII letters/digits, `_`, `^`
 * (kept by an accident of the original character class) and CJK U+4E00..U+9FA5 becomes `_`; runs
 * of `_` collapse; lower-case; trim `_`; a leading digit gets `get_`.
 */
export function standardize(s: string): string {
  const out = s
    .replace(/[^\u4e00-\u9fa5^a-zA-Z0-9_]/gu, '_')
    .replace(/_{2,}/g, '_')
    .toLowerCase()
    .replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(out) ? `get_${out}` : out;
}

const RESERVED_NAMES = new Set(['from', 'class', 'return', 'false', 'true', 'id', 'and']);

/** ToolBench's `change_name`: prefixes `is_` to a few reserved words (API and parameter names). */
export function changeName(s: string): string {
  return RESERVED_NAMES.has(s) ? `is_${s}` : s;
}

// Description and parameter-description cut (ToolBench's description_max_length).
const DESCRIPTION_MAX_CHARS = 256;
// Function names keep their LAST 64 characters (OpenAI's function-name limit).
const FUNCTION_NAME_MAX_CHARS = 64;

const TYPE_MAP: Record<string, string> = { NUMBER: 'integer', STRING: 'string', BOOLEAN: 'boolean' };

/** The function the model sees for one API entry (docs/toolbench-formats.md §b, all quirks reproduced). */
export function apiToFunction(api: ApiEntry): ToolFunction {
  const toolName = standardize(api.tool_name);
  const name = lastChars(`${changeName(standardize(api.api_name))}_for_${toolName}`, FUNCTION_NAME_MAX_CHARS);

  // No space before "The description": ToolBench concatenates the two sentences directly.
  let description = `This is the subfunction for tool "${toolName}", you can use this tool.`;
  const apiDescription = pythonStrip(api.api_description);
  if (apiDescription !== '') {
    const replaced = apiDescription.replaceAll(api.api_name, () => name);
    description += `The description of this function is: "${firstChars(replaced, DESCRIPTION_MAX_CHARS)}"`;
  }

  const fn: ToolFunction = {
    name,
    description,
    parameters: { type: 'object', properties: {}, required: [], optional: [] },
  };
  // Quirk kept for compatibility: the optional parameters are listed only when the API has at
  // least one required parameter (both loops sit inside that check in ToolBench).
  if (api.required_parameters.length > 0) {
    for (const param of api.required_parameters) addParameter(fn, param, 'required');
    for (const param of api.optional_parameters) addParameter(fn, param, 'optional');
  }
  return fn;
}

// apiToFunction's wrapper around an API's own description (its text quoted after the preamble).
const WRAPPED_DESCRIPTION = /^This is the subfunction for tool "[^"]*", you can use this tool\.(?:The description of this function is: "([\s\S]*)")?$/;

/** The API's own text inside a description apiToFunction wrote (`''` when it had none); any other text as it is. */
export function unwrapDescription(description: string): string {
  const wrapped = WRAPPED_DESCRIPTION.exec(description);
  return wrapped ? (wrapped[1] ?? '') : description;
}

function addParameter(fn: ToolFunction, param: ApiParameter, list: 'required' | 'optional'): void {
  const key = changeName(standardize(param.name));
  const schema: ParameterSchema = {
    type: TYPE_MAP[param.type] ?? 'string',
    description: firstChars(param.description, DESCRIPTION_MAX_CHARS),
  };
  // Python keeps the example when `len(str(default)) != 0`: only the empty string is dropped.
  if (param.default !== '' && param.default !== undefined) schema.example_value = param.default;
  // A repeated key overwrites the value but keeps its first position, like a Python dict; the
  // name is still listed twice.
  fn.parameters.properties[key] = schema;
  fn.parameters[list]!.push(key);
}

/** The current (v2) wording of Finish's description, from ToolBench's rapidapi.py. */
export const FINISH_DESCRIPTION =
  'If you believe that you have obtained a result that can answer the task, please call this ' +
  'function to provide the final answer. Alternatively, if you recognize that you are unable to ' +
  'proceed with the task in the current state, call this function to restart. Remember: you must ' +
  'ALWAYS call this function at the end of your attempt, and the only part that will be shown to ' +
  'the user is the final answer, so it should contain sufficient information.';

/**
 * ToolBench's `Finish`, appended last to every function list, in the current (v2) wording. Its
 * schema is a fact of the format (docs/toolbench-formats.md §b); it has no `optional` list. The older v1
 * description only occurs inside released trajectories, which carry their own function lists.
 */
export const FINISH_FUNCTION: ToolFunction = deepFreeze({
  name: 'Finish',
  description: FINISH_DESCRIPTION,
  parameters: {
    type: 'object',
    properties: {
      return_type: { type: 'string', enum: ['give_answer', 'give_up_and_restart'] },
      final_answer: {
        type: 'string',
        description:
          'The final answer you want to give the user. You should have this field if "return_type"=="give_answer"',
      },
    },
    required: ['return_type'],
  },
});

/**
 * The query's function list as ToolBench shows it: one function per api_list entry, in order, then
 * Finish. Functions are NOT deduplicated: when truncation to 64 characters gives two functions the
 * same name (4 test queries), both are listed, as in the reference.
 */
export function queryFunctions(query: Pick<ToolQuery, 'api_list' | 'functions'>): ToolFunction[] {
  return query.functions ?? [...query.api_list.map(apiToFunction), FINISH_FUNCTION];
}

/**
 * The `{tool_list}` text: one line `"{k}.{standard_tool_name}: {desc}\n"` per distinct tool, in
 * first-appearance order, k from 1. `desc` is the tool description cut to 512 characters, newlines
 * removed, stripped, `None` when empty. Test queries carry no tool descriptions, so by default
 * every tool reads `None` (ToolBench's own fallback). `toolDescriptions` is keyed by the
 * standardized tool name.
 */
export function toolListLines(
  query: Pick<ToolQuery, 'api_list'>,
  toolDescriptions: Readonly<Record<string, string>> = {},
): string {
  const tools = [...new Set(query.api_list.map((api) => standardize(api.tool_name)))];
  return tools
    .map((tool, k) => {
      const raw = Object.hasOwn(toolDescriptions, tool) ? toolDescriptions[tool]! : '';
      const desc = pythonStrip(firstChars(raw, 512).replaceAll('\n', ''));
      return `${k + 1}.${tool}: ${desc === '' ? 'None' : desc}\n`;
    })
    .join('');
}

export interface ResolvedFunction {
  function: ToolFunction;
  /** Position in the function list; for API functions also the index into the query's api_list. */
  index: number;
}

/**
 * Which function a called name refers to (docs/toolbench-formats.md §b, name resolution). `Finish` is checked
 * first. Then the list is walked in order and the first match wins, which also settles duplicate
 * names. `match: 'exact'` (kiln's stricter choice) needs equal names;
 * `match: 'suffix'` is ToolBench's environment: the first function whose name ends with the called
 * name, so an empty name matches the first function. Returns null when nothing matches (ToolBench
 * then answers `No such function name`, code 1).
 */
export function resolveFunctionName(
  called: string,
  functions: readonly ToolFunction[],
  options: { match?: 'exact' | 'suffix' } = {},
): ResolvedFunction | null {
  const finishIndex = functions.findIndex((f) => f.name === 'Finish');
  if (called === 'Finish' && finishIndex >= 0) return { function: functions[finishIndex]!, index: finishIndex };
  const matches =
    options.match === 'suffix' ? (f: ToolFunction) => f.name.endsWith(called) : (f: ToolFunction) => f.name === called;
  const index = functions.findIndex(matches);
  return index >= 0 ? { function: functions[index]!, index } : null;
}

// Python's str.strip() removes the characters for which str.isspace() is true; JS trim() differs
// (it strips U+FEFF and keeps U+001C..U+001F and U+0085).
const PY_WHITESPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_WHITESPACE}+|${PY_WHITESPACE}+$`, 'gu');

export function pythonStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** Python `s[:n]`: counts code points, not UTF-16 units. */
export function firstChars(s: string, n: number): string {
  const cps = Array.from(s);
  return cps.length <= n ? s : cps.slice(0, n).join('');
}

/** Python `s[-n:]`, by code points. */
function lastChars(s: string, n: number): string {
  const cps = Array.from(s);
  return cps.length <= n ? s : cps.slice(cps.length - n).join('');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
