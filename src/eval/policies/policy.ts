/**
 * The model under evaluation, behind one interface: given the conversation so far (ToolLLaMA's
 * roles), write the next assistant turn as ReAct text. `complete` takes many requests at once, so
 * a local model can run them as one batch; the agent loops reach it through `PolicyBatcher`.
 */
import type { FittingPolicy } from '../../toolbench/fitting.js';
import type { ToolFunction, ToolQuery } from '../../toolbench/functions.js';
import type { ToolLlamaMessage } from '../../toolbench/render.js';

export interface ContextWindow {
  positions: number;
  /** Tokens generated per step: a prompt must leave this many positions. */
  reserve: number;
  /** Tokens of the prompt the policy would build from these messages (BOS included). */
  countPromptTokens(messages: readonly ToolLlamaMessage[]): number;
}

export interface PolicyRequest {
  query: ToolQuery;
  category: string;
  messages: ToolLlamaMessage[];
  /** The functions offered, Finish last (also in the system message as text). */
  functions: readonly ToolFunction[];
  /** How many model calls this query has made before this one (replay and seeding use it). */
  callIndex: number;
}

export type PolicyCompletion =
  | { ok: true; text: string }
  /** `context_overflow`: the prompt does not fit; `error`: the backend failed. Both end the branch. */
  | { ok: false; kind: 'context_overflow' | 'error'; message: string };

export interface Policy {
  /** Named in the report (`kiln model at ./ckpt`, `openai-compatible gpt-4o at …`). */
  readonly description: string;
  /** The system prompt template the policy was trained with, if it carries one. */
  readonly promptTemplate?: string;
  /** The function-list fitting the policy was trained with, if it carries one. */
  readonly fitting?: FittingPolicy;
  /** The model's positions and token count, for the length pre-flight; absent for remote models. */
  readonly contextWindow?: ContextWindow;
  /** How many requests one `complete` call should receive at most. */
  readonly maxBatch: number;
  complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]>;
  /** Releases what the policy holds (a local model's device); called once after the run. */
  close?(): void;
}
