/**
 * The LLM judge, following ToolEval's pass-rate procedure (docs/toolbench-formats.md §f) on an
 * OpenAI-compatible endpoint. It is given what ToolEval's judge is given: for a replay of a
 * ToolEval converted answer, the recorded entry itself (its query, available_tools with their
 * Finish wording, final_answer and answer_details); otherwise the trajectory in that format.
 * 1. the Finish gate — the last call must be Finish, with a non-empty, non-give-up answer;
 * 2. `check_answer_status(query, final answer)`, and when that says Unsure,
 *    `parse_answer_status(query, the whole answer as JSON)`;
 * 3. repeated `samples` times. The score is StableToolBench's SoPR (mean of Solved 1 / Unsure 0.5
 *    / Unsolved 0 over the samples). With `solvability`, ToolBench's original vote is also
 *    computed: a non-Solved answer asks `check_task_solvable`, Unsure outcomes are a (seeded) coin
 *    flip, and the query passes when failed ≤ passed.
 * Each call forces the judge function with an added required `reason` property, up to 3 attempts.
 * Values enter the prompts as Python's `str()` would put them (a string as it is).
 */
import type { ToolQuery } from '../../toolbench/functions.js';
import { pythonRepr } from '../../toolbench/pythonRepr.js';
import { chatCompletion, type ChatEndpoint } from '../policies/openaiChat.js';
import { pythonJsonDumps } from '../calls/pythonJson.js';
import type { RecordedAnswer, RecordedAnswerSet } from '../recorded/recordedAnswers.js';
import { sameFunction } from '../recorded/functionNames.js';
import { TextSeededRandom } from '../textSeededRandom.js';
import { toToolEvalAnswer, type ToolEvalAnswer } from '../recorded/toolevalAnswer.js';
import type { Trajectory } from '../trajectory.js';
import { LABEL_SCORE, type AnswerLabel, type Judge, type Judgement } from './judge.js';
import type { JudgeFunctionName, JudgePrompts } from './judgePrompts.js';

export interface LlmJudgeOptions {
  endpoint: ChatEndpoint;
  prompts: JudgePrompts;
  /** Evaluations per query: ToolBench uses 4 (or 7), StableToolBench 3. */
  samples: number;
  /** Also run ToolBench's solvability check and vote. */
  solvability: boolean;
  /** `tools` (StableToolBench, current API) or `functions` (ToolBench, legacy API). */
  callStyle: 'tools' | 'functions';
  seed: number;
  /** Recorded ToolEval answers: a trajectory that replays one is judged on the recorded entry. */
  recorded?: RecordedAnswerSet;
}

type TaskStatus = 'Solvable' | 'Unsolvable' | 'Unsure';

export class LlmJudge implements Judge {
  readonly description: string;

  constructor(private readonly o: LlmJudgeOptions) {
    this.description = `LLM judge (ToolEval procedure, ${o.samples} samples, SoPR score) with ${o.endpoint.model}`;
  }

  async judge(query: ToolQuery, trajectory: Trajectory): Promise<Judgement> {
    const answer = this.recordedEntry(trajectory) ?? toToolEvalAnswer(query, trajectory);
    const gate = finishGate(answer);
    if (gate !== null) return { label: 'Unsolved', score: 0, reasons: [gate], details: { samples: [] } };
    const samples: AnswerLabel[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < this.o.samples; i++) {
      const first = await this.ask('check_answer_status', { query: answer.query, answer: answer.answer.final_answer });
      let label = readStatus(first.status, ['Solved', 'Unsolved', 'Unsure']) as AnswerLabel;
      reasons.push(first.reason);
      if (label === 'Unsure') {
        const second = await this.ask('parse_answer_status', { query: answer.query, answer: pythonJsonDumps(answer.answer) });
        label = readStatus(second.status, ['Solved', 'Unsolved', 'Unsure']) as AnswerLabel;
        reasons.push(second.reason);
      }
      samples.push(label);
    }
    const score = samples.reduce((a, l) => a + LABEL_SCORE[l], 0) / samples.length;
    const details: Record<string, unknown> = { samples };
    if (this.o.solvability) details.toolbench_passed = await this.vote(query, answer, samples);
    return { label: mostFrequent(samples), score, reasons, details };
  }

  /** The recorded ToolEval entry when the trajectory made exactly its calls, else undefined. */
  private recordedEntry(t: Trajectory): ToolEvalAnswer | undefined {
    const recorded: RecordedAnswer | undefined = this.o.recorded?.get(t.category, t.queryId);
    if (recorded?.toolEval === undefined || recorded.calls.length !== t.steps.length) return undefined;
    const same = recorded.calls.every((c, i) => sameFunction(c.name, t.steps[i]!.action));
    return same ? (recorded.toolEval as unknown as ToolEvalAnswer) : undefined;
  }

  /** ToolBench's original pass/fail vote over the samples (docs/toolbench-formats.md §f). */
  private async vote(query: ToolQuery, answer: ToolEvalAnswer, samples: AnswerLabel[]): Promise<boolean> {
    const rng = new TextSeededRandom(`${this.o.seed}\u0000${query.query_id}`);
    let passed = 0;
    let failed = 0;
    for (const label of samples) {
      let outcome: 'pass' | 'fail' | 'unsure' = 'pass';
      if (label !== 'Solved') {
        const task = pythonJsonDumps({ query: answer.query, available_tools: answer.available_tools });
        const reply = await this.ask('check_task_solvable', { task });
        const taskStatus = readStatus(reply.status, ['Solvable', 'Unsolvable', 'Unsure']) as TaskStatus;
        outcome = taskStatus === 'Unsolvable' ? 'pass' : label === 'Unsolved' && taskStatus === 'Solvable' ? 'fail' : 'unsure';
      }
      if (outcome === 'unsure') outcome = rng.next() < 0.5 ? 'pass' : 'fail';
      if (outcome === 'pass') passed++;
      else failed++;
    }
    return failed <= passed;
  }

  private async ask(name: JudgeFunctionName, fields: Record<string, string>): Promise<{ status: string; reason: string }> {
    const spec = this.o.prompts.functions[name];
    if (!spec) throw new Error(`LLM judge: the prompt file has no ${name} prompt`);
    const prompt = spec.prompt.replace(/\{(query|answer|task)\}/g, (m, key: string) => fields[key] ?? m);
    const parameters = withReason(spec.parameters);
    const fn = { name, description: spec.description, parameters };
    const forced =
      this.o.callStyle === 'tools'
        ? { tools: [{ type: 'function', function: fn }], tool_choice: { type: 'function', function: { name } } }
        : { functions: [fn], function_call: { name } };
    const defaults = this.o.prompts.completionDefaults;
    const extra = {
      temperature: defaults.temperature ?? 0.2,
      max_tokens: defaults.max_tokens ?? 1000,
      ...forced,
    };
    const statusField = Object.keys((parameters.properties as Record<string, unknown>) ?? {}).find((k) => k !== 'reason')!;
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const reply = await chatCompletion(this.o.endpoint, [{ role: 'user', content: prompt }], extra);
        const args = JSON.parse(reply.call?.arguments ?? reply.content) as Record<string, unknown>;
        return { status: String(args[statusField] ?? ''), reason: String(args.reason ?? '') };
      } catch (e) {
        lastError = (e as Error).message;
      }
    }
    throw new Error(`LLM judge: ${name} failed after 3 attempts: ${lastError}`);
  }
}

/**
 * ToolEval's rules before any LLM call; returns the reason for Unsolved, or null to go on. The
 * last tool node with a message must mention Finish in Python's `str()` of that message: a dict
 * as its repr, a string (ToolBench's converted form) as it is.
 */
export function finishGate(answer: ToolEvalAnswer): string | null {
  let node: ToolEvalAnswer['answer']['answer_details'][number] | undefined = answer.answer.answer_details[0];
  let lastStep = '';
  while (node) {
    const text = pythonStr(node.message);
    if (node.role === 'tool' && text !== '') lastStep = text;
    node = node.next?.[0];
  }
  if (!lastStep.includes("'name': 'Finish'")) return 'No answer';
  const finalAnswer = answer.answer.final_answer;
  if (finalAnswer === '' || finalAnswer.includes('give_up_and_restart')) return 'Empty final answer!';
  return null;
}

/** Python's `str()`: a string is itself, anything else its repr. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

function withReason(parameters: Record<string, unknown>): Record<string, unknown> {
  const properties = { ...((parameters.properties as Record<string, unknown>) ?? {}), reason: { type: 'string', description: 'explain your answer.' } };
  const required = [...((parameters.required as string[]) ?? []), 'reason'];
  return { ...parameters, properties, required };
}

function readStatus(status: string, allowed: string[]): string {
  // Unknown text is read as Unsure: the judge could not decide.
  return allowed.includes(status) ? status : 'Unsure';
}

function mostFrequent(labels: AnswerLabel[]): AnswerLabel {
  const order: AnswerLabel[] = ['Unsolved', 'Unsure', 'Solved'];
  return order.reduce((best, l) => (labels.filter((x) => x === l).length > labels.filter((x) => x === best).length ? l : best), order[0]!);
}
