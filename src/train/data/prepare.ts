/**
 * The whole SFT data step: read every record under the given paths, check it, render and tokenize
 * it, apply the overlong policy, and report, all before the first training step. Records stream
 * through one at a time; only the tokenized examples are kept.
 */
import type { LossOn } from '../../toolbench/render.js';
import { lengthHistogram, type DataReport } from './dataReport.js';
import { countOutcome, emptyOverlongCounts, fitExample, type FitOptions, type FitOutcome, type OverlongPolicy } from './overlong.js';
import { countTargets, type TokenizedExample, type TokenizerLike } from './tokenizeExample.js';
import { describeBadRecords, emptyFormCounts, readConversations, type BadRecord, type OnBadRecord } from './validate.js';
import type { ToolLlamaConversation } from '../../toolbench/render.js';

export interface PrepareOptions {
  paths: readonly string[];
  tokenizer: TokenizerLike;
  /** Default 'assistant': every assistant turn is a target. */
  lossOn?: LossOn;
  /** The model's positions (BOS included). */
  maxTokens: number;
  overlong: OverlongPolicy;
  onBadRecord: OnBadRecord;
  minObservationTokens?: number;
  /** How a conversation becomes an example; default ToolLLaMA's text (fitExample). */
  fit?: (conv: ToolLlamaConversation, options: FitOptions) => FitOutcome;
}

export interface PreparedData {
  examples: TokenizedExample[];
  /** Where each example came from, parallel to `examples`. */
  locations: string[];
  report: DataReport;
}

export async function prepareSftData(options: PrepareOptions): Promise<PreparedData> {
  const lossOn = options.lossOn ?? 'assistant';
  const examples: TokenizedExample[] = [];
  const locations: string[] = [];
  const bad: BadRecord[] = [];
  const recordsByForm = emptyFormCounts();
  const overlong = emptyOverlongCounts();
  let conversations = 0;
  for await (const outcome of readConversations(options.paths)) {
    if (!outcome.ok) {
      bad.push(outcome.bad);
      continue;
    }
    recordsByForm[outcome.form]++;
    // Under `fail` the run stops once reading ends, so tokenizing after a bad record is wasted.
    if (options.onBadRecord === 'fail' && bad.length > 0) continue;
    for (const conv of outcome.conversations) {
      conversations++;
      const fit = (options.fit ?? fitExample)(conv, {
        maxTokens: options.maxTokens,
        policy: options.overlong,
        lossOn,
        tokenizer: options.tokenizer,
        minObservationTokens: options.minObservationTokens,
      });
      countOutcome(overlong, fit);
      if (fit.action === 'dropped') continue;
      examples.push(fit.example);
      locations.push(outcome.location);
    }
  }
  if (options.onBadRecord === 'fail' && bad.length > 0) throw new Error(describeBadRecords(bad));
  const lengths = examples.map((ex) => ex.inputIds.length);
  const report: DataReport = {
    recordsByForm,
    badRecords: bad,
    conversations,
    examples: examples.length,
    tokens: lengths.reduce((a, b) => a + b, 0),
    targetTokens: examples.reduce((n, ex) => n + countTargets(ex), 0),
    lossOn,
    maxTokens: options.maxTokens,
    policy: options.overlong,
    overlong,
    lengthHistogram: lengthHistogram(lengths, options.maxTokens),
  };
  return { examples, locations, report };
}
