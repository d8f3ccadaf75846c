/**
 * Running an evaluation: every pending query goes through the agent loop (CoT or DFSDT) with its
 * calls to the policy batched across queries, then through the judge, and its result is appended
 * to the store as soon as it is judged. Queries already in the store are skipped (resume).
 */
import type { FittingPolicy } from '../toolbench/fitting.js';
import { runChain, type AgentSettings } from './agent/agentLoop.js';
import { runDfsdt, type DfsdtSettings } from './agent/dfsdt.js';
import type { ToolEnvironment } from './envs/environment.js';
import type { NameMatch } from './agent/executeAction.js';
import type { Judge } from './judges/judge.js';
import type { Policy } from './policies/policy.js';
import { PolicyBatcher } from './policies/policyBatcher.js';
import type { QueryProgress } from './cli/queryProgress.js';
import type { EvalQuery } from './queries.js';
import type { QueryResult, ResultsStore } from './report/results.js';
import type { Trajectory } from './trajectory.js';

export interface EvalRunOptions {
  queries: EvalQuery[];
  policy: Policy;
  env: ToolEnvironment;
  judge: Judge;
  template: string;
  fitting?: FittingPolicy;
  method: 'cot' | 'dfsdt';
  maxSteps: number;
  nameMatch: NameMatch;
  dfsdt: { beam: number; maxLlmCalls: number; diversityTemplate: string };
  /** Queries in flight at once; the policy's batch fills from these. */
  concurrency: number;
  store: ResultsStore;
  progress?: QueryProgress;
  /** Where per-query failures (a judge that gave up, …) are reported. */
  log: (line: string) => void;
}

export interface EvalRunOutcome {
  ran: number;
  skipped: number;
  failed: number;
}

export async function runEvaluation(o: EvalRunOptions): Promise<EvalRunOutcome> {
  const pending = o.queries.filter((q) => !o.store.has(q.category, q.query.query_id));
  const batcher = new PolicyBatcher(o.policy);
  const settings: AgentSettings = { template: o.template, env: o.env, batcher, nameMatch: o.nameMatch, maxSteps: o.maxSteps, fitting: o.fitting };
  const dfsdtSettings: DfsdtSettings = { ...settings, ...o.dfsdt };
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const task = pending[next++]!;
      try {
        const trajectory = await runQuery(task);
        const judgement = await o.judge.judge(task.query, trajectory);
        const result: QueryResult = {
          query_id: task.query.query_id,
          category: task.category,
          label: judgement.label,
          score: judgement.score,
          reasons: judgement.reasons,
          details: judgement.details,
          trajectory,
        };
        o.store.append(result);
        o.progress?.tick(result.score);
      } catch (e) {
        // Not stored, so a later run retries it; the report counts it as missing meanwhile.
        failed++;
        o.log(`${task.category} query ${task.query.query_id}: ${(e as Error).message}`);
        o.progress?.tick(0);
      }
    }
  };
  const runQuery = async (task: EvalQuery): Promise<Trajectory> => {
    batcher.enter();
    try {
      return o.method === 'dfsdt' ? await runDfsdt(task, dfsdtSettings) : await runChain(task, settings);
    } finally {
      batcher.leave();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, pending.length)) }, worker));
  return { ran: pending.length - failed, skipped: o.queries.length - pending.length, failed };
}
