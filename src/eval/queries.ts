/**
 * Loading the queries to evaluate: StableToolBench's solvable-query files (`test/<category>.json`)
 * and ToolBench's raw query files (`G1_query.json`, the inference demos), both JSON arrays of
 * `{query, query_id, api_list, "relevant APIs"}` (docs/toolbench-formats.md §a). The category is the file name
 * without `.json`. Raw files may carry minimal api_list entries (only category, tool and API
 * names); they get empty descriptions and no parameters, since the tool JSONs they point to are
 * not available here. Queries without an api_list need a retriever and are skipped.
 * ToolEval's converted-answer files (`{<id>: {query, available_tools, answer}}`) are read as
 * queries too, their functions taken from `available_tools` (recorded/availableTools.ts).
 * A query id seen twice in one category is evaluated once, and the repeat is reported.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ApiEntry, ApiParameter, ToolQuery } from '../toolbench/functions.js';
import { parseJsonLossless } from '../toolbench/jsonLossless.js';
import { queryFromAvailableTools } from './recorded/availableTools.js';
import { isConvertedAnswerFile } from './recorded/convertedAnswer.js';

/** The paper's column order; other categories follow alphabetically. */
export const PAPER_CATEGORIES = [
  'G1_instruction',
  'G1_category',
  'G1_tool',
  'G2_category',
  'G2_instruction',
  'G3_instruction',
] as const;

export interface EvalQuery {
  category: string;
  query: ToolQuery;
}

export interface QueryFilters {
  categories?: readonly string[];
  /** The first N queries of each category. */
  limit?: number;
  ids?: ReadonlySet<number>;
}

export interface LoadedQueries {
  queries: EvalQuery[];
  /** `file: reason` for every query left out as unusable. */
  skipped: string[];
}

export function loadQueries(path: string, filters: QueryFilters = {}): LoadedQueries {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json') && statSync(join(path, f)).isFile())
        .map((f) => join(path, f))
    : [path];
  const byCategory = new Map<string, EvalQuery[]>();
  const skipped: string[] = [];
  for (const file of files) {
    const category = basename(file, '.json');
    if (filters.categories && !filters.categories.includes(category)) continue;
    const list = byCategory.get(category) ?? [];
    const seen = new Map<number, string>(list.map((q) => [q.query.query_id, 'an earlier file']));
    for (const { query, where } of readQueryFile(file, skipped)) {
      if (filters.ids && !filters.ids.has(query.query_id)) continue;
      const first = seen.get(query.query_id);
      if (first !== undefined) {
        skipped.push(`${where}: query id ${query.query_id} of ${category} appears again (first at ${first}); evaluated once`);
        continue;
      }
      seen.set(query.query_id, where);
      list.push({ category, query });
    }
    byCategory.set(category, list);
  }
  if (filters.categories) {
    const missing = filters.categories.filter((c) => !byCategory.has(c));
    if (missing.length > 0) throw new Error(`${path}: no query file for categor${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}`);
  }
  const queries = categoryOrder([...byCategory.keys()]).flatMap((c) => {
    const list = byCategory.get(c)!;
    return filters.limit === undefined ? list : list.slice(0, filters.limit);
  });
  return { queries, skipped };
}

export function categoryOrder(categories: readonly string[]): string[] {
  const rank = (c: string) => {
    const i = (PAPER_CATEGORIES as readonly string[]).indexOf(c);
    return i < 0 ? PAPER_CATEGORIES.length : i;
  };
  return [...categories].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The usable queries of one file, each with where it was found; unusable ones go to `skipped`. */
function readQueryFile(file: string, skipped: string[]): { query: ToolQuery; where: string }[] {
  let data: unknown;
  try {
    // Lossless, so a default of 1.0 still prints as Python's 1.0 in the function list.
    data = parseJsonLossless(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (isConvertedAnswerFile(data)) {
    return Object.entries(data).map(([id, entry]) => {
      const where = `${file}: query ${id}`;
      if (!/^\d{1,15}$/.test(id)) throw new Error(`${file}: key ${JSON.stringify(id.slice(0, 40))} is not a query id`);
      if (!isObject(entry) || typeof entry.query !== 'string') throw new Error(`${where}: field "query" must be a string`);
      return { query: queryFromAvailableTools(Number(id), entry.query, entry.available_tools, where), where };
    });
  }
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array of queries (or ToolEval converted answers)`);
  const out: { query: ToolQuery; where: string }[] = [];
  for (const [i, raw] of data.entries()) {
    const where = `${file}[${i}]`;
    if (!isObject(raw) || !Array.isArray(raw.api_list)) {
      skipped.push(`${where}: no api_list (open-domain queries need a retriever, which kiln does not have)`);
      continue;
    }
    out.push({ query: readQuery(raw, where), where });
  }
  return out;
}

function readQuery(raw: Record<string, unknown>, where: string): ToolQuery {
  if (typeof raw.query !== 'string') throw new Error(`${where}: field "query" must be a string`);
  if (!Number.isInteger(raw.query_id)) throw new Error(`${where}: field "query_id" must be an integer`);
  const apiList = (raw.api_list as unknown[]).map((api, j) => readApi(api, `${where}.api_list[${j}]`));
  const relevantRaw = raw['relevant APIs'] ?? [];
  if (!Array.isArray(relevantRaw)) throw new Error(`${where}: field "relevant APIs" must be an array`);
  const relevant = relevantRaw.map((pair, j) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'string')) {
      throw new Error(`${where}: "relevant APIs"[${j}] must be a [tool_name, api_name] pair`);
    }
    return pair as [string, string];
  });
  return { query: raw.query, query_id: raw.query_id as number, api_list: apiList, 'relevant APIs': relevant };
}

function readApi(raw: unknown, where: string): ApiEntry {
  if (!isObject(raw)) throw new Error(`${where}: expected an object`);
  for (const key of ['category_name', 'tool_name', 'api_name'] as const) {
    if (typeof raw[key] !== 'string') throw new Error(`${where}: field "${key}" must be a string`);
  }
  const entry: ApiEntry = {
    category_name: raw.category_name as string,
    tool_name: raw.tool_name as string,
    api_name: raw.api_name as string,
    api_description: typeof raw.api_description === 'string' ? raw.api_description : '',
    required_parameters: readParameters(raw.required_parameters, `${where}.required_parameters`),
    optional_parameters: readParameters(raw.optional_parameters, `${where}.optional_parameters`),
    method: typeof raw.method === 'string' ? raw.method : 'GET',
  };
  if (raw.template_response !== undefined) entry.template_response = raw.template_response;
  return entry;
}

function readParameters(raw: unknown, where: string): ApiParameter[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error(`${where}: expected an array`);
  return raw.map((p, i) => {
    if (!isObject(p) || typeof p.name !== 'string') throw new Error(`${where}[${i}]: expected an object with a string "name"`);
    return {
      name: p.name,
      type: typeof p.type === 'string' ? p.type : 'STRING',
      description: typeof p.description === 'string' ? p.description : '',
      default: p.default ?? '',
    };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
