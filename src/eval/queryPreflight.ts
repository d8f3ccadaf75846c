/**
 * The evaluation's length pre-flight: each query's opening prompt (system prompt with its fitted
 * function list, and the user turn) counted as the policy would encode it, summarized by the same
 * module as training's (toolbench/preflight.ts).
 */
import { fittingPolicyName, type FittingPolicy } from '../toolbench/fitting.js';
import { summarizePreflight, type Preflight } from '../toolbench/preflight.js';
import { startConversation } from './agent/conversation.js';
import type { ContextWindow } from './policies/policy.js';
import type { EvalQuery } from './queries.js';

export function queryPreflight(queries: readonly EvalQuery[], template: string, fitting: FittingPolicy, window: ContextWindow): Preflight {
  const items = queries.map((q) => {
    const opening = window.countPromptTokens(startConversation(q.query, template, {}, fitting).messages);
    return { group: q.category, openingTokens: opening, totalTokens: opening + window.reserve };
  });
  return summarizePreflight(items, {
    subject: 'evaluation queries',
    positions: window.positions,
    reserve: window.reserve,
    fitting: fittingPolicyName(fitting),
  });
}
