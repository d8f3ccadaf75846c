/**
 * The judge interface: a label per query, scored like StableToolBench's SoPR (Solved 1, Unsure
 * 0.5, Unsolved 0; docs/toolbench-formats.md §f), with the reasons behind it.
 */
import type { ToolQuery } from '../../toolbench/functions.js';
import type { Trajectory } from '../trajectory.js';

export type AnswerLabel = 'Solved' | 'Unsure' | 'Unsolved';

export const LABEL_SCORE: Record<AnswerLabel, number> = { Solved: 1, Unsure: 0.5, Unsolved: 0 };

export interface Judgement {
  label: AnswerLabel;
  /** In [0, 1]: the label's score, or the mean over several judge samples. */
  score: number;
  reasons: string[];
  /** Judge-specific numbers (coverage, per-sample labels, …), kept in the trajectory record. */
  details: Record<string, unknown>;
}

export interface Judge {
  /** Named in the report, e.g. `rule judge (docs/judge.md), SoPR-style`. */
  readonly description: string;
  judge(query: ToolQuery, trajectory: Trajectory): Promise<Judgement>;
}
