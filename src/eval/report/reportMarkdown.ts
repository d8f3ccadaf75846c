/**
 * The report as Markdown: the pass-rate table in the paper's column layout, the study's quoted
 * baselines beside it (clearly marked as numbers from a different protocol), and a table of the
 * judge-free metrics.
 */
import { PAPER_CATEGORIES } from '../queries.js';
import type { CategorySummary, EvalSummary } from './report.js';

const SHORT_NAMES: Record<string, string> = {
  G1_instruction: 'G1_instr',
  G1_category: 'G1_cat',
  G1_tool: 'G1_tool',
  G2_category: 'G2_cat',
  G2_instruction: 'G2_instr',
  G3_instruction: 'G3_instr',
};

/** Averages the study quotes; only the averages are known, and they come from other protocols. */
export const QUOTED_BASELINES: { name: string; average: number; note: string }[] = [
  { name: 'OPT-350m SFT (the study)', average: 77.55, note: 'the study\'s own protocol' },
  { name: 'ChatGPT-CoT (as the study quotes it)', average: 26.0, note: 'ToolEval LLM judge' },
  { name: 'ToolLLaMA-DFS (as the study quotes it)', average: 30.18, note: 'ToolEval LLM judge' },
];

export function reportMarkdown(s: EvalSummary, options: { baselines: boolean } = { baselines: true }): string {
  const present = s.categories.map((c) => c.category);
  const columns = [...PAPER_CATEGORIES.filter((c) => present.includes(c)), ...present.filter((c) => !(PAPER_CATEGORIES as readonly string[]).includes(c))];
  const byName = new Map(s.categories.map((c) => [c.category, c]));
  const pct = (x: number) => (100 * x).toFixed(1);
  const cell = (c: CategorySummary) => `${pct(c.passRate)} [${pct(c.ci95.low)}, ${pct(c.ci95.high)}]`;
  const header = `| model | ${columns.map((c) => SHORT_NAMES[c] ?? c).join(' | ')} | Avg |`;
  const rule = `| --- | ${columns.map(() => '---:').join(' | ')} | ---: |`;
  const kilnRow = `| ${s.policy} | ${columns.map((c) => cell(byName.get(c)!)).join(' | ')} | ${pct(s.average.passRate)} [${pct(s.average.ci95.low)}, ${pct(s.average.ci95.high)}] |`;
  const lines = [
    `## Pass rate (%) with 95% interval`,
    '',
    `- judge: ${s.judge}`,
    `- environment: ${s.environment}`,
    `- policy: ${s.policy}; search: ${s.method}`,
    `- missing or failed queries count as Unsolved; Avg is the unweighted mean of the categories.`,
    '',
    header,
    rule,
    kilnRow,
  ];
  if (options.baselines) {
    for (const b of QUOTED_BASELINES) {
      lines.push(`| *${b.name}; ${b.note}, not comparable* | ${columns.map(() => '–').join(' | ')} | *${b.average.toFixed(2)}* |`);
    }
  }
  lines.push(
    '',
    '## Labels and agent behaviour',
    '',
    '| category | queries | missing | Solved | Unsure | Unsolved | lenient pass | parse | valid JSON | Finish | halluc. names | API errors | mean steps | context overflows |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const c of columns.map((name) => byName.get(name)!)) {
    const m = c.metrics;
    lines.push(
      `| ${c.category} | ${c.queries} | ${c.missing} | ${c.labels.Solved} | ${c.labels.Unsure} | ${c.labels.Unsolved} | ` +
        `${c.lenientPassRate === null ? '–' : pct(c.lenientPassRate)} | ${pct(m.parseRate)} | ${pct(m.validJsonRate)} | ${pct(m.finishRate)} | ` +
        `${m.hallucinatedNames} | ${m.apiErrors} (${pct(m.apiErrorRate)}%) | ${m.meanSteps.toFixed(2)} | ${m.contextOverflows} |`,
    );
  }
  lines.push('', '## Reasons', '');
  for (const c of columns.map((name) => byName.get(name)!)) {
    const reasons = Object.entries(c.reasons).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ');
    lines.push(`- ${c.category}: ${reasons || '–'}`);
  }
  return `${lines.join('\n')}\n`;
}
