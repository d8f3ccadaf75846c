/**
 * What a run reads before it trains: the settings checked against the model (the longest example
 * it can take, the prompt template, the fitting policy) and the SFT data rendered for that model.
 */
import { readFileSync } from 'node:fs';
import type { AnyCausalLM } from '../../model/autoModel.js';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import { type FittingPolicy, parseFittingPolicy } from '../../toolbench/fitting.js';
import { hasFunctionsPlaceholder } from '../../toolbench/promptTemplate.js';
import { fitChatExample } from '../data/chatTemplateExamples.js';
import { formatDataReport } from '../data/dataReport.js';
import { prepareSftData, type PreparedData } from '../data/prepare.js';
import type { TrainOptions } from '../options.js';

export interface RunInputs {
  /** The longest example in tokens: --max-length, or the model's positions. */
  maxTokens: number;
  /** The text of --prompt-template, or null for ToolBench's own system prompt. */
  promptTemplate: string | null;
  fitting: FittingPolicy;
}

/** Checks the options against a model with `maxPositions` positions and reads the files they name. */
export function readRunInputs(options: TrainOptions, maxPositions: number): RunInputs {
  const maxTokens = options.maxLength || maxPositions;
  if (maxTokens > maxPositions) throw new Error(`--max-length ${maxTokens} exceeds the model's max_position_embeddings ${maxPositions}`);
  const promptTemplate = options.promptTemplate ? readFileSync(options.promptTemplate, 'utf8') : null;
  const fitting = parseFittingPolicy(options.fitting ?? 'toolbench');
  if (promptTemplate !== null && !hasFunctionsPlaceholder(promptTemplate)) {
    throw new Error(`--prompt-template ${options.promptTemplate}: the template has no {functions} or {function_signatures} placeholder`);
  }
  return { maxTokens, promptTemplate, fitting };
}

/**
 * How examples are rendered: OPT trains on ToolLLaMA's text; a model with its own chat template
 * trains on its template (chatTemplateExamples.ts). A Llama-family model without one is refused
 * rather than fed a text format it was never tuned on.
 */
function chatFit(model: AnyCausalLM, tokenizer: Tokenizer, log: (line: string) => void) {
  if (model.modelType === 'opt') return undefined;
  if (tokenizer.chatTemplate === null) {
    throw new Error(`a ${model.modelType} model trains on its chat template, and this tokenizer has none (tokenizer_config.json chat_template or chat_template.jinja)`);
  }
  log(`kiln: rendering the data through the ${model.modelType} tokenizer's chat template`);
  return (conv: Parameters<typeof fitChatExample>[1], o: Parameters<typeof fitChatExample>[2]) => fitChatExample(tokenizer, conv, o);
}

/** Reads, renders and tokenizes --data for `model`, logs the data report, and refuses an empty result. */
export async function loadTrainingData(
  model: AnyCausalLM,
  tokenizer: Tokenizer,
  options: TrainOptions,
  inputs: RunInputs,
  log: (line: string) => void,
): Promise<PreparedData> {
  const data = await prepareSftData({
    paths: options.data,
    tokenizer,
    lossOn: options.lossOn,
    maxTokens: inputs.maxTokens,
    overlong: options.overlong,
    onBadRecord: options.onBadRecord,
    fitting: inputs.fitting,
    fit: chatFit(model, tokenizer, log),
  });
  log(formatDataReport(data.report));
  if (data.examples.length === 0) throw new Error(`--data ${options.data.join(', ')}: no training examples left`);
  return data;
}
