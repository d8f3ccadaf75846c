/**
 * The study being reproduced, cited, and the results file that sets this run's table beside its
 * numbers. The numbers themselves are the evaluation report's quoted baselines (one place); the
 * study publishes averages only, so its row has no per-group cells.
 */
import { QUOTED_BASELINES } from '../eval/report/reportMarkdown.js';

export const STUDY = {
  citation:
    'P. Jhandi, O. Kazi, S. Subramanian, N. Sendas, "Small Language Models for Efficient Agentic Tool Calling: ' +
    'Outperforming Large Models with Targeted Fine-tuning", arXiv:2512.15943 (2025)',
  recipe: "facebook/opt-350m, one epoch of supervised fine-tuning with TRL's SFTTrainer on ToolBench",
} as const;

export interface ResultsInput {
  settings: Record<string, unknown>;
  checkpoint: string;
  /** The pre-flight text as printed (training and evaluation). */
  preflight: string;
  /** The evaluation's report.md: the paper-layout table with the quoted baselines, then the details. */
  evalReport: string;
}

/** `<out>/results.md`: how the run was made, its pre-flight, its table beside the study's numbers, and their source. */
export function resultsMarkdown(r: ResultsInput): string {
  const settings = Object.entries(r.settings)
    .filter(([, v]) => v !== null && v !== false)
    .map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const quoted = QUOTED_BASELINES.map((b) => `${b.name} ${b.average.toFixed(2)}%`).join('; ');
  return [
    '# Reproduction of the OPT-350m ToolBench study',
    '',
    `Checkpoint evaluated: ${r.checkpoint}`,
    '',
    ...settings,
    '',
    `The study's numbers below are cited, not measured here (${quoted}). Source: ${STUDY.citation}; recipe: ${STUDY.recipe}.`,
    "The baselines were judged by ToolEval's LLM judge, and the study does not say how its own model was judged,",
    'so the rows compare only as far as the protocols agree: the judge of this run is named below.',
    '',
    r.evalReport.trimEnd(),
    '',
    '## Length pre-flight, as printed before the run',
    '',
    '```',
    r.preflight.trimEnd(),
    '```',
    '',
  ].join('\n');
}
