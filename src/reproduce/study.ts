/**
 * The study being reproduced, as cited facts, and the results file that sets kiln's table beside
 * them. The per-group numbers of the study are not published with its average, so only averages
 * are quoted; the evaluation's report.md already lays the table out in the paper's columns.
 */
export const STUDY = {
  citation:
    'P. Jhandi, O. Kazi, S. Subramanian, N. Sendas, "Small Language Models for Efficient Agentic Tool Calling: ' +
    'Outperforming Large Models with Targeted Fine-tuning", arXiv:2512.15943 (2025)',
  recipe: 'facebook/opt-350m, one epoch of supervised fine-tuning with TRL\'s SFTTrainer on ToolBench',
  averages: [
    { name: 'OPT-350m SFT (the study)', passRate: 77.55 },
    { name: 'ChatGPT-CoT (as the study quotes it)', passRate: 26.0 },
    { name: 'ToolLLaMA-DFS (as the study quotes it)', passRate: 30.18 },
    { name: 'ToolLLaMA-CoT (as the study quotes it)', passRate: 16.27 },
  ],
} as const;

export interface ResultsInput {
  settings: Record<string, unknown>;
  checkpoint: string;
  trainPreflight: string;
  evalPreflight: string;
  evalReport: string;
}

/** `<out>/results.md`: how the run was made, its pre-flight, its table, and the study's numbers with their source. */
export function resultsMarkdown(r: ResultsInput): string {
  const settings = Object.entries(r.settings)
    .filter(([, v]) => v !== null && v !== false)
    .map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [
    '# Reproduction of the OPT-350m ToolBench study',
    '',
    `Checkpoint evaluated: ${r.checkpoint}`,
    '',
    ...settings,
    '',
    "## The study's numbers (cited, not measured here)",
    '',
    `Source: ${STUDY.citation}. Recipe: ${STUDY.recipe}. Averages over ToolBench's six test groups:`,
    '',
    '| model | average pass rate (%) |',
    '|---|---:|',
    ...STUDY.averages.map((a) => `| ${a.name} | ${a.passRate.toFixed(2)} |`),
    '',
    'The baselines were judged by ToolEval\'s LLM judge; the study does not say which judge scored its own',
    'model, so the rows compare only as far as the protocols agree (see the judge named below).',
    '',
    '## Length pre-flight',
    '',
    '```',
    r.trainPreflight,
    '',
    r.evalPreflight,
    '```',
    '',
    '## This run (the evaluation\'s report)',
    '',
    r.evalReport.replace(/^## /gm, '### '),
  ].join('\n');
}
