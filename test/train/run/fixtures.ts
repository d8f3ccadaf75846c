import type { DataReport } from '../../../src/train/data/dataReport.js';
import type { PreparedData } from '../../../src/train/data/prepare.js';
import { DEFAULTS, type TrainOptions } from '../../../src/train/options.js';

/** Examples of the given lengths: ids 3.., labels equal to the ids but the first (the BOS). */
export function preparedData(lengths: readonly number[]): PreparedData {
  const examples = lengths.map((n, e) => {
    const inputIds = Int32Array.from({ length: n }, (_, t) => 3 + ((e * 7 + t) % 50));
    const labels = Int32Array.from(inputIds, (id, t) => (t === 0 ? -100 : id));
    return { inputIds, labels };
  });
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const report = { tokens, targetTokens: tokens - lengths.length } as DataReport;
  return { examples, locations: examples.map((_, i) => `data.json:${i}`), report };
}

export function runOptions(extra: Partial<TrainOptions> = {}): TrainOptions {
  return { ...DEFAULTS, model: 'm', data: ['data.json'], out: 'out', ...extra };
}
