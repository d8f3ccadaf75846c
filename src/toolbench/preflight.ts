/**
 * The length pre-flight: before any step, how much of the data fits in the model's positions,
 * counted with the model's own tokenizer. Training (over its examples) and evaluation (over its
 * queries' opening prompts) both summarize through this file, so the two reports say the same
 * things: per group, how many fit, how many overflow before the first step, and how many tokens
 * the opening prompt leaves for the steps (median and 10th percentile).
 */

/** The lengths of one example or query, in tokens with BOS. */
export interface LengthItem {
  group: string;
  /** Everything before the model's first step (system, user, handover). */
  openingTokens: number;
  /** The whole example; for a query, its opening plus the first step's reserve. */
  totalTokens: number;
}

export interface PreflightRow {
  group: string;
  items: number;
  /** Whole example within the positions; for a query, room for its first step. */
  fit: number;
  /** The opening alone leaves less than the reserve: not one step can be taken (or learned). */
  overflowBeforeFirstStep: number;
  /** Positions minus opening, floored at 0. */
  leftMedian: number;
  leftP10: number;
}

export interface Preflight {
  subject: 'training examples' | 'evaluation queries';
  positions: number;
  /** Tokens a first step needs at least: 1 target token in training, the new-token budget in evaluation. */
  reserve: number;
  fitting: string;
  /** Per group in first-appearance order, then `all`. */
  rows: PreflightRow[];
}

export function summarizePreflight(
  items: readonly LengthItem[],
  o: { subject: Preflight['subject']; positions: number; reserve: number; fitting: string },
): Preflight {
  const groups = new Map<string, LengthItem[]>();
  for (const item of items) {
    const list = groups.get(item.group) ?? [];
    list.push(item);
    groups.set(item.group, list);
  }
  const row = (group: string, list: readonly LengthItem[]): PreflightRow => {
    const left = list.map((i) => Math.max(0, o.positions - i.openingTokens)).sort((a, b) => a - b);
    return {
      group,
      items: list.length,
      fit: list.filter((i) => i.totalTokens <= o.positions).length,
      overflowBeforeFirstStep: list.filter((i) => i.openingTokens + o.reserve > o.positions).length,
      leftMedian: percentile(left, 0.5),
      leftP10: percentile(left, 0.1),
    };
  };
  const rows = [...groups].map(([group, list]) => row(group, list));
  if (groups.size !== 1) rows.push(row('all', items));
  return { ...o, rows };
}

/** Linear interpolation between closest ranks (numpy's default), rounded; 0 for no values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return Math.round(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo));
}

const HEADERS = ['group', 'items', 'fit', 'overflow before 1st step', 'left median', 'left p10'];

function cells(r: PreflightRow): string[] {
  const pct = r.items === 0 ? '' : ` (${((100 * r.fit) / r.items).toFixed(1)}%)`;
  return [r.group, String(r.items), `${r.fit}${pct}`, String(r.overflowBeforeFirstStep), String(r.leftMedian), String(r.leftP10)];
}

function title(p: Preflight): string {
  const need = p.subject === 'training examples' ? 'the whole example fits' : `the opening leaves ${p.reserve} new tokens`;
  return (
    `length pre-flight: ${p.subject} in ${p.positions} positions (BOS included), fitting policy ${p.fitting}; ` +
    `fit: ${need}; left: tokens after the opening prompt for the steps`
  );
}

/** The pre-flight as a text table for the terminal. */
export function formatPreflight(p: Preflight): string {
  const rows = [HEADERS, ...p.rows.map(cells)];
  const widths = HEADERS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `  ${r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')}`;
  return [title(p), ...rows.map(line)].join('\n');
}

/** The pre-flight as a Markdown section, for report.md. */
export function preflightMarkdown(p: Preflight): string {
  return [
    '## Length pre-flight',
    '',
    `${title(p)}.`,
    '',
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map((_, c) => (c === 0 ? '---' : '---:')).join('|')}|`,
    ...p.rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
  ].join('\n');
}
