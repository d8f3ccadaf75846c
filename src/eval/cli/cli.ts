/**
 * The `node eval.js` command: load the queries, build the policy, environment and judge, run (or
 * resume) the evaluation with a progress line, and write the report (report.md, summary.json) next
 * to the per-query trajectories. Returns the process exit code: 0 done, 1 failed, 2 bad usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fittingPolicyName, isToolBenchFitting } from '../../toolbench/fitting.js';
import { formatPreflight, preflightMarkdown } from '../../toolbench/preflight.js';
import { UsageError, helpText, parseArgs, type ParsedArgs } from './cliArgs.js';
import { chooseFitting, chooseTemplate, createEnvironment, createJudge, createPolicy } from './cliSetup.js';
import { queryPreflight } from '../queryPreflight.js';
import { KILN_DIVERSITY_PROMPT } from '../agent/dfsdt.js';
import { computeJudgeAgreement, formatAgreement } from '../judges/judgeAgreement.js';
import { QueryProgress } from './queryProgress.js';
import { loadQueries, type EvalQuery } from '../queries.js';
import type { Policy } from '../policies/policy.js';
import { summarize } from '../report/report.js';
import { reportMarkdown } from '../report/reportMarkdown.js';
import { ResultsStore, writeFileAtomic } from '../report/results.js';
import { runEvaluation } from '../runEval.js';
import { scrubSecrets } from '../secrets.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

const processIo: CliIo = { stdout: (t) => process.stdout.write(t), stderr: process.stderr };

export async function runEvalCli(argv: string[], io: CliIo = processIo): Promise<number> {
  // Every line is scrubbed of known secrets: errors can quote a URL or a server's echo of a key.
  const log = (line: string) => void io.stderr.write(`${scrubSecrets(line)}\n`);
  try {
    const args = parseArgs(argv);
    if (args.help) {
      io.stdout(helpText());
      return 0;
    }
    if (args['judge-agreement']) {
      const toolbench = toolbenchDir();
      const sample = (args['eval-sample'] as string | undefined) ?? (toolbench && join(toolbench, 'eval-sample', 'stabletoolbench'));
      const queries = (args.queries as string | undefined) ?? (toolbench && join(toolbench, 'test'));
      if (!sample || !queries) throw new UsageError('--judge-agreement needs --eval-sample <dir> and --queries <dir> (no ../shared/toolbench found)');
      io.stdout(`${formatAgreement(computeJudgeAgreement(sample, queries))}\n`);
      return 0;
    }
    await evaluate(args, io, log);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      log(`eval: ${e.message}`);
      return 2;
    }
    log(`eval: ${(e as Error).message}`);
    return 1;
  }
}

async function evaluate(args: ParsedArgs, io: CliIo, log: (line: string) => void): Promise<void> {
  const queriesPath = (args.queries as string | undefined) ?? (toolbenchDir() && join(toolbenchDir()!, 'test'));
  if (!queriesPath || !existsSync(queriesPath)) {
    throw new UsageError(`no queries: pass --queries <dir> (looked for ${queriesPath ?? '../shared/toolbench/test'})`);
  }
  const list = (k: 'categories' | 'ids') => (args[k] as string | undefined)?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const ids = list('ids')?.map((s) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`--ids: ${JSON.stringify(s)} is not a query id`);
    return Number(s);
  });
  const { queries, skipped } = loadQueries(queriesPath, {
    ...(list('categories') ? { categories: list('categories')! } : {}),
    ...(args.limit !== undefined ? { limit: args.limit as number } : {}),
    ...(ids ? { ids: new Set(ids) } : {}),
  });
  for (const s of skipped) log(`skipped ${s}`);
  if (queries.length === 0) throw new UsageError(`no queries selected from ${queriesPath}`);

  const policy = await createPolicy(args, log);
  try {
    await evaluateWith(policy, args, queries, io, log);
  } finally {
    policy.close?.();
  }
}

async function evaluateWith(policy: Policy, args: ParsedArgs, queries: EvalQuery[], io: CliIo, log: (line: string) => void): Promise<void> {
  const env = createEnvironment(args, log);
  const judge = createJudge(args, log);
  const { template, source: templateSource } = chooseTemplate(policy, args, log);
  const fitting = chooseFitting(policy, args, log);
  const preflight = policy.contextWindow ? queryPreflight(queries, template, fitting, policy.contextWindow) : null;
  log(preflight ? formatPreflight(preflight) : `length pre-flight: not available for ${policy.description} (no local tokenizer)`);
  const method = args.method as 'cot' | 'dfsdt';
  const diversityFile = args['diversity-prompt-file'] as string | undefined;
  const out = resolve(args.out as string);
  const run = {
    policy: policy.description,
    environment: env.description,
    judge: judge.description,
    method,
    template: templateSource,
    ...(isToolBenchFitting(fitting) ? {} : { fitting: fittingPolicyName(fitting) }),
    max_steps: args['max-steps'],
    max_llm_calls: method === 'dfsdt' ? args['max-llm-calls'] : undefined,
    name_match: args['name-match'],
    max_new_tokens: args['max-new-tokens'],
    temperature: args.temperature,
    seed: args.seed,
  };
  const store = new ResultsStore(out, run, args.fresh === true);
  const progress = new QueryProgress(queries.filter((q) => !store.has(q.category, q.query.query_id)).length, io.stderr);
  log(`evaluating ${queries.length} queries with ${policy.description}; ${env.description}; ${judge.description}; results in ${out}`);
  const outcome = await runEvaluation({
    queries,
    policy,
    env,
    judge,
    template,
    fitting,
    method,
    maxSteps: Math.max(1, args['max-steps'] as number),
    nameMatch: args['name-match'] === 'exact' ? 'exact' : 'suffix',
    dfsdt: {
      beam: Math.max(1, args.beam as number),
      maxLlmCalls: Math.max(1, args['max-llm-calls'] as number),
      diversityTemplate: diversityFile ? readFileSync(diversityFile, 'utf8') : KILN_DIVERSITY_PROMPT,
    },
    concurrency: Math.max(1, args['batch-size'] as number),
    store,
    progress,
    log,
  });
  progress.finish();
  if (outcome.skipped > 0) log(`resumed: ${outcome.skipped} queries already had results`);
  if (outcome.failed > 0) log(`${outcome.failed} queries failed and count as missing; run again to retry them`);

  const summary = {
    ...summarize(queries, store.all(), { judge: judge.description, environment: env.description, policy: policy.description, method }),
    ...(preflight ? { preflight } : {}),
  };
  const markdown = reportMarkdown(summary, { baselines: args['no-baselines'] !== true }) + (preflight ? `\n${preflightMarkdown(preflight)}` : '');
  writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileAtomic(join(out, 'report.md'), markdown);
  io.stdout(markdown);
}

/**
 * The shared ToolBench data: $KILN_TOOLBENCH_DIR, else `../shared/toolbench` beside the working
 * directory or beside kiln's own checkout (this file is dist/src/eval/cli/cli.js), so `node eval.js`
 * finds it from anywhere.
 */
function toolbenchDir(): string | null {
  if (process.env.KILN_TOOLBENCH_DIR) return existsSync(process.env.KILN_TOOLBENCH_DIR) ? process.env.KILN_TOOLBENCH_DIR : null;
  const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
  const candidates = [resolve('..', 'shared', 'toolbench'), resolve(packageRoot, '..', 'shared', 'toolbench')];
  return candidates.find((dir) => existsSync(dir)) ?? null;
}
