/**
 * The whole SFT data step: read every record under the given paths, check it, render and tokenize
 * it, apply the overlong policy, and report, all before the first training step. Records stream
 * through one at a time; only the tokenized examples are kept.
 */
import { fittingPolicyName, TOOLBENCH_FITTING, type FittingPolicy } from '../../toolbench/fitting.js';
import { summarizePreflight, type LengthItem } from '../../toolbench/preflight.js';
import type { LossOn } from '../../toolbench/render.js';
import { dataGroup, lengthHistogram, type DataReport } from './dataReport.js';
import { fitConversation } from './fitSystemPrompt.js';
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
  /** How system prompts' function lists are shortened; default ToolBench's rendering (no change). */
  fitting?: FittingPolicy;
  /** Stop after this many conversations (a sample, for a pre-flight); default all. */
  maxConversations?: number;
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
  let fittingNotApplied = 0;
  const fitting = options.fitting ?? TOOLBENCH_FITTING;
  const lengthItems: LengthItem[] = [];
  for await (const outcome of readConversations(options.paths)) {
    if (!outcome.ok) {
      bad.push(outcome.bad);
      continue;
    }
    recordsByForm[outcome.form]++;
    // Under `fail` the run stops once reading ends, so tokenizing after a bad record is wasted.
    if (options.onBadRecord === 'fail' && bad.length > 0) continue;
    if (conversations >= (options.maxConversations ?? Infinity)) break;
    for (const original of outcome.conversations) {
      conversations++;
      const { conv, applied } = fitConversation(original, fitting);
      if (!applied) fittingNotApplied++;
      const fit = (options.fit ?? fitExample)(conv, {
        maxTokens: options.maxTokens,
        policy: options.overlong,
        lossOn,
        tokenizer: options.tokenizer,
        minObservationTokens: options.minObservationTokens,
      });
      countOutcome(overlong, fit);
      lengthItems.push({ group: dataGroup(outcome.location), openingTokens: fit.lengths.opening, totalTokens: fit.lengths.total });
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
    fittingNotApplied,
    // One target token is the least a training example needs after its opening.
    preflight: summarizePreflight(lengthItems, {
      subject: 'training examples',
      positions: options.maxTokens,
      reserve: 1,
      fitting: fittingPolicyName(fitting),
    }),
  };
  return { examples, locations, report };
}
