/**
 * What a reproduction needs before any work starts: the training data and test queries, a prompt
 * template, free disk space and a GPU. Every check runs and every missing piece is reported
 * together, each with how to get it, so a long run never dies on something knowable at the start.
 * The weights are the first stage's download; its failure is reported in the same way.
 */
import { existsSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Gpu } from '../kernels/runtime/device.js';
import { PAPER_CATEGORIES } from '../eval/queries.js';
import type { ReproduceOptions } from './options.js';
import { hasFunctionsPlaceholder } from '../toolbench/promptTemplate.js';
import { recoverTemplateFromData } from './recoverTemplate.js';

export interface DataLocation {
  train: string;
  queries: string;
}

export interface Prerequisites {
  data: DataLocation;
  template: string;
  adapter: string;
}

/** Raised with every missing prerequisite, each a line saying what and how to get it. */
export class MissingPrerequisites extends Error {
  constructor(readonly missing: readonly string[]) {
    super(`cannot start; missing:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  }
}

const RELEASE_TRAIN_FILE = 'toolllama_G123_dfs_train.json';
const RELEASE_QUERY_DIRS = ['test_instruction', join('solvable_queries', 'test_instruction'), 'test'];
const GET_DATA =
  "ToolBench's data release (the data/ folder linked from OpenBMB/ToolBench's README; the six solvable " +
  'test query files come from StableToolBench)';

/** Where the training data and the test queries lie, or what is missing. */
export function locateData(o: ReproduceOptions): { data: DataLocation | null; missing: string[] } {
  const missing: string[] = [];
  let train = o.train;
  let queries = o.queries;
  if (o.data !== null) {
    if (!existsSync(o.data)) missing.push(`--data ${o.data}: no such folder; it should be ${GET_DATA}`);
    train ??= join(o.data, RELEASE_TRAIN_FILE);
    queries ??= RELEASE_QUERY_DIRS.map((d) => join(o.data!, d)).find((d) => existsSync(d)) ?? join(o.data, RELEASE_QUERY_DIRS[0]!);
  }
  if (train === null || queries === null) {
    missing.push(`the ToolBench data: pass --data <dir>, ${GET_DATA}, or --train <file|dir> and --queries <dir>`);
    return { data: null, missing };
  }
  if (!existsSync(train)) missing.push(`training data ${train}: not found (${RELEASE_TRAIN_FILE} is in ${GET_DATA})`);
  if (!existsSync(queries) || !statSync(queries).isDirectory()) {
    missing.push(`test queries ${queries}: no such folder (one <group>.json per test group, from ${GET_DATA})`);
  } else {
    const groups = readdirSync(queries).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    const absent = PAPER_CATEGORIES.filter((g) => !groups.includes(g));
    if (absent.length > 0) missing.push(`test queries ${queries}: no ${absent.map((g) => `${g}.json`).join(', ')} (the study evaluates all six groups)`);
  }
  return { data: missing.length === 0 ? { train, queries } : null, missing };
}

/** The adapter's description, or what is missing: a software adapter only with --allow-cpu. */
export async function checkGpu(allowCpu: boolean): Promise<{ adapter: string | null; missing: string | null }> {
  let gpu: Gpu;
  try {
    gpu = await Gpu.create();
  } catch (e) {
    return { adapter: null, missing: `a GPU: ${(e as Error).message}` };
  }
  const { description, isSoftware, vendor, device } = gpu.adapter;
  gpu.destroy();
  const name = `${vendor} ${device} ${description}`.trim();
  if (isSoftware && !allowCpu) {
    return {
      adapter: null,
      missing:
        `a GPU: the only adapter is the software renderer ${name}, on which fine-tuning OPT-350m on ToolBench would ` +
        'take months. Run on a machine with a GPU driver (Vulkan, Metal or D3D12), or pass --allow-cpu for a smoke run',
    };
  }
  return { adapter: `${name}${isSoftware ? ' (software, --allow-cpu)' : ''}`, missing: null };
}

/** Free bytes on the file system that will hold `path` (its nearest existing ancestor). */
export function freeBytes(path: string): number {
  let dir = resolve(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

export async function checkPrerequisites(o: ReproduceOptions): Promise<Prerequisites> {
  const { data, missing } = locateData(o);
  let template: string | null = null;
  if (o.promptTemplate !== null) {
    template = existsSync(o.promptTemplate) ? readFileSync(o.promptTemplate, 'utf8') : null;
    if (template === null) missing.push(`--prompt-template ${o.promptTemplate}: not found`);
    else if (!hasFunctionsPlaceholder(template)) missing.push(`--prompt-template ${o.promptTemplate}: no {functions} or {function_signatures} placeholder`);
  } else if (data !== null) {
    template = await recoverTemplateFromData([data.train]);
    if (template === null) {
      missing.push(
        `a prompt template: none could be recovered from ${data.train} (no system prompt with a tool list and a function list); ` +
          "pass --prompt-template <file>, ToolBench's ToolLLaMA system prompt with {tool_list} and {functions}",
      );
    }
  }
  const free = freeBytes(o.out);
  if (free < o.minFreeGb * 1e9) {
    missing.push(
      `disk space: ${(free / 1e9).toFixed(1)} GB free for ${o.out}, ${o.minFreeGb} GB needed (weights, two checkpoints with ` +
        'optimizer state, evaluation); free some or choose another --out',
    );
  }
  const gpu = await checkGpu(o.allowCpu);
  if (gpu.missing !== null) missing.push(gpu.missing);
  if (missing.length > 0 || data === null || template === null || gpu.adapter === null) throw new MissingPrerequisites(missing);
  return { data, template, adapter: gpu.adapter };
}
