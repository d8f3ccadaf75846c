/**
 * What one evaluated query leaves behind: the path the agent took, step by step, with the
 * environment's structured reply beside the observation text the model saw. The rule judge, the
 * LLM judge (through toolevalAnswer.ts), the report and the results store all read this record.
 */

/** The environment's reply object before serialisation (docs/toolbench-formats.md §d). */
export interface ToolReply {
  error: string;
  /** A string from the RapidAPI server; any JSON value from StableToolBench's virtual server. */
  response: unknown;
  /** Set when the reply was read from a text cut short: `response` holds only what survived. */
  cut?: boolean;
}

/** Status codes of docs/toolbench-formats.md §d (0 normal, 1 no such function, 2 bad Finish, 3 answer, 4 give up, …). */
export const StatusCode = {
  ok: 0,
  noSuchFunction: 1,
  badFinishInput: 2,
  finishAnswer: 3,
  finishGiveUp: 4,
  timeout: 5,
  apiNotWorking: 6,
  unauthorized: 7,
  unsubscribed: 8,
  tooManyRequests: 9,
  rateLimitPerMinute: 10,
  messageError: 11,
  httpError: 12,
} as const;

export interface TrajectoryStep {
  /** The model's raw output for this step (after stop strings were cut). */
  raw: string;
  /** True when all three markers (Thought, Action, Action Input) were found in order. */
  parsed: boolean;
  thought: string;
  /** The action name as the model wrote it. */
  action: string;
  /** The Action Input text as the model wrote it. */
  actionInput: string;
  /** The offered function the action resolved to, or null (unknown name, i.e. hallucinated). */
  functionName: string | null;
  /** The Action Input parsed strictly as a JSON object (an empty text counts as `{}`). */
  argsJson: boolean;
  reply: ToolReply;
  code: number;
  /** The observation text exactly as the model saw it (json.dumps, 1,024-character cut). */
  observation: string;
}

/**
 * Why a run stopped. Only `finish` is a successful Finish with `give_answer`. `recorded` marks a
 * trajectory read back from someone else's answer file, whose stop reason is not known.
 */
export type StopReason =
  | 'finish'
  | 'give_up'
  | 'budget'
  | 'context_overflow'
  | 'policy_error'
  | 'recorded';

export type SearchMethod = 'cot' | 'dfsdt' | 'recorded';

export interface Trajectory {
  queryId: number;
  category: string;
  method: SearchMethod;
  /** The final path: the finished chain, or for an unfinished search the last path tried. */
  steps: TrajectoryStep[];
  /** The raw argument string of the successful Finish call, `""` when there was none. */
  finalAnswer: string;
  stop: StopReason;
  /** Model calls made for this query (all branches for DFSDT). */
  llmCalls: number;
  /** Model outputs whose prompt did not fit the context; they end the branch. */
  contextOverflows: number;
  /** The policy's or the environment's error text when the run ended on one. */
  error?: string;
}
