/**
 * The summary of the training data printed before the first step: what was read, what the
 * overlong policy did, how many tokens and target tokens remain, and the length distribution.
 */
import { basename } from 'node:path';
import { formatPreflight, type Preflight } from '../../toolbench/preflight.js';
import type { LossOn } from '../../toolbench/render.js';
import type { OverlongCounts, OverlongPolicy } from './overlong.js';
import type { SourceForm } from './sources/sources.js';
import type { BadRecord } from './validate.js';

/** The data report as JSON, beside the checkpoints in the run's directory. */
export const DATA_REPORT_FILE = 'data_report.json';

export interface LengthBin {
  /** Lengths in (from, to]. */
  from: number;
  to: number;
  count: number;
}

export interface DataReport {
  recordsByForm: Record<SourceForm, number>;
  badRecords: BadRecord[];
  /** Conversations produced (an answer tree yields one per step). */
  conversations: number;
  examples: number;
  tokens: number;
  targetTokens: number;
  lossOn: LossOn;
  maxTokens: number;
  policy: OverlongPolicy;
  overlong: OverlongCounts;
  lengthHistogram: LengthBin[];
  /** Conversations whose system prompt had no function list the fitting policy could read. */
  fittingNotApplied: number;
  /** What fits, per group, before any cut (the same summary the evaluation prints). */
  preflight: Preflight;
}

/**
 * The pre-flight group of a record: ToolBench's group as the path names it (`G1_answer`,
 * `G123_dfs` in toolllama_G123_dfs_train.json), else the file's name.
 */
export function dataGroup(location: string): string {
  const group = /G\d+_[A-Za-z]+/.exec(location);
  return group ? group[0] : basename(location.replace(/ (\[\d+\]|line \d+)$/, ''));
}

/** Counts of example lengths in `bins` equal-width bins up to `maxTokens`. */
export function lengthHistogram(lengths: readonly number[], maxTokens: number, bins = 8): LengthBin[] {
  const width = Math.ceil(maxTokens / bins);
  const out: LengthBin[] = Array.from({ length: bins }, (_, i) => ({
    from: i * width,
    to: Math.min((i + 1) * width, maxTokens),
    count: 0,
  }));
  for (const len of lengths) out[Math.min(bins - 1, Math.max(0, Math.ceil(len / width) - 1))]!.count++;
  return out;
}

export function formatDataReport(r: DataReport): string {
  const pct = (n: number, of: number): string => (of === 0 ? '0.0%' : `${((100 * n) / of).toFixed(1)}%`);
  const forms = Object.entries(r.recordsByForm)
    .filter(([, n]) => n > 0)
    .map(([form, n]) => `${n} ${form}`)
    .join(', ');
  const o = r.overlong;
  const lines = [
    'training data',
    `  records read:     ${forms === '' ? 'none' : forms}; malformed: ${r.badRecords.length}`,
    `  conversations:    ${r.conversations}`,
    `  over ${r.maxTokens} tokens (policy ${r.policy}): ${o.truncated + o.dropped} of ${r.conversations}`,
    `    truncated:      ${o.truncated} (observations cut in ${o.withObservationsCut}, ` +
      `function list shortened in ${o.withFunctionsRemoved}, ${o.functionsRemoved} functions removed, ` +
      `${o.tokensTruncated} tokens removed)`,
    `    dropped:        ${o.dropped} (${o.tokensDropped} tokens)`,
    `  examples:         ${r.examples}`,
    `  tokens:           ${r.tokens} (mean ${r.examples === 0 ? 0 : Math.round(r.tokens / r.examples)} per example)`,
    `  target tokens:    ${r.targetTokens} (${pct(r.targetTokens, r.tokens)}, loss on ${r.lossOn})`,
    '  length histogram:',
  ];
  const most = Math.max(1, ...r.lengthHistogram.map((b) => b.count));
  for (const bin of r.lengthHistogram) {
    const bar = '#'.repeat(Math.round((40 * bin.count) / most));
    lines.push(`    ${String(bin.from + 1).padStart(5)}-${String(bin.to).padEnd(5)} ${String(bin.count).padStart(7)} ${bar}`);
  }
  lines.push(formatPreflight(r.preflight));
  if (r.fittingNotApplied > 0) {
    lines.push(`  fitting policy ${r.preflight.fitting} not applied to ${r.fittingNotApplied} conversations (no readable function list)`);
  }
  for (const bad of r.badRecords.slice(0, 5)) lines.push(`  malformed: ${bad.location}: ${bad.message}`);
  if (r.badRecords.length > 5) lines.push(`  ... and ${r.badRecords.length - 5} more malformed records`);
  return lines.join('\n');
}
