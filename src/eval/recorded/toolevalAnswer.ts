/**
 * A kiln trajectory in ToolEval's converted answer format (docs/toolbench-formats.md §f), so the LLM judge
 * sees exactly what ToolEval's judge would see: `{query, available_tools, answer: {method,
 * total_steps, final_answer, answer_details}}`, the details a linked chain system → user → one
 * `tool` node per call.
 */
import { queryFunctions, type ToolFunction, type ToolQuery } from '../../toolbench/functions.js';
import type { Trajectory } from '../trajectory.js';

export interface ToolEvalNode {
  role: 'system' | 'user' | 'tool' | 'assistant';
  message: string | { name: string; arguments: string; response: string };
  next: ToolEvalNode[];
}

export interface ToolEvalAnswer {
  query: string;
  available_tools: ToolFunction[];
  answer: {
    method: string;
    total_steps: number;
    final_answer: string;
    answer_details: ToolEvalNode[];
  };
}

const METHOD_NAMES: Record<Trajectory['method'], string> = { cot: 'CoT@1', dfsdt: 'DFS_woFilter_w2', recorded: 'recorded' };

export function toToolEvalAnswer(query: ToolQuery, t: Trajectory): ToolEvalAnswer {
  const nodes: ToolEvalNode[] = [
    { role: 'system', message: '', next: [] },
    { role: 'user', message: '', next: [] },
    ...t.steps.map(
      (s): ToolEvalNode => ({
        role: 'tool',
        message: { name: s.action, arguments: s.actionInput, response: s.action === 'Finish' ? '' : s.observation },
        next: [],
      }),
    ),
  ];
  for (let i = 0; i + 1 < nodes.length; i++) nodes[i]!.next.push(nodes[i + 1]!);
  return {
    query: query.query,
    available_tools: queryFunctions(query),
    answer: { method: METHOD_NAMES[t.method], total_steps: nodes.length, final_answer: t.finalAnswer, answer_details: [nodes[0]!] },
  };
}
