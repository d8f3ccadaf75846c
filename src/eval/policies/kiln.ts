/**
 * A kiln model as the policy: the conversation is rendered as ToolLLaMA renders it at inference
 * (`Role: content\n` per message), handing over to the model exactly as kiln's training text
 * renders an assistant turn (`Assistant: `, see render.ts), all requests of a batch are generated
 * together (the model left-pads), and the new text is cut at the first stop string.
 *
 * OPT has 2,048 positions. ToolBench silently left-truncates an over-long prompt, cutting the start
 * of the system prompt; kiln refuses instead and reports it: a prompt longer than
 * `maxPositions − maxNewTokens` tokens is a `context_overflow`, counted in the report.
 *
 * The model and tokenizer are typed structurally (with the model's own GenerateOptions), so tests
 * can stand in a scripted model.
 */
import { renderInferencePrompt } from '../../toolbench/render.js';
import { actionInputEnd } from '../agent/react.js';
import { allowedActionTokens, tokenPieces, type OfferedFunction, type TokenPieces } from '../agent/actionNames.js';
import type { ToolFunction } from '../../toolbench/functions.js';
import type { GenerateOptions } from '../../model/generate.js';
import type { FittingPolicy } from '../../toolbench/fitting.js';
import type { ContextWindow, Policy, PolicyCompletion, PolicyRequest } from './policy.js';

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Needed only to constrain the Action line (`constrainActions`). */
  readonly vocabSize?: number;
}

export interface GenerativeModel {
  /** Returns only the new tokens of each prompt; prompts may differ in length (left-padded inside). */
  generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]>;
  /** Frees the model's device memory. */
  dispose?(): void;
}

export interface KilnPolicyOptions {
  model: GenerativeModel;
  tokenizer: TextTokenizer;
  /** Where the model came from, for the report. */
  source: string;
  /** The system prompt template the model was trained with, when known. */
  promptTemplate?: string;
  /** The function-list fitting the model was trained with, when known. */
  fitting?: FittingPolicy;
  maxPositions: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  batchSize: number;
  /** Stop each step once its Action Input's JSON object is complete, instead of at `</s>`. */
  stopAfterActionInput?: boolean;
  /** Decode the Action line constrained to the offered functions' names (src/eval/agent/actionNames.ts). */
  constrainActions?: boolean;
  /** How a prompt becomes ids (a chat template, src/eval/agent/chatPrompt.ts); default ToolLLaMA's text. */
  encodePrompt?: (messages: PolicyRequest['messages']) => number[];
  /** Stop strings beside KILN_STOP_STRINGS (a chat template's end-of-turn text). */
  extraStopStrings?: string[];
}

/** The prompt a kiln model is given (see complete), counted: for the pre-flight, with or without a model. */
export function kilnContextWindow(tokenizer: Pick<TextTokenizer, 'encode'>, positions: number, maxNewTokens: number): ContextWindow {
  return {
    positions,
    reserve: maxNewTokens,
    countPromptTokens: (messages) => tokenizer.encode(renderInferencePrompt(messages, 'training')).length,
  };
}

// The end of an assistant turn in training is `</s>`; the other roles would start a turn the
// model must not write.
export const KILN_STOP_STRINGS = ['</s>', '\nFunction:', '\nUser:', '\nAssistant:', '\nSystem:'];

export class KilnPolicy implements Policy {
  readonly description: string;
  readonly promptTemplate?: string;
  readonly fitting?: FittingPolicy;
  readonly contextWindow: ContextWindow;
  readonly maxBatch: number;
  private readonly stops: string[];
  private readonly vocabulary: TokenPieces | null;

  constructor(private readonly o: KilnPolicyOptions) {
    this.stops = [...KILN_STOP_STRINGS, ...(o.extraStopStrings ?? [])];
    this.description = `kiln model ${o.source}${o.constrainActions ? ' (Action and its input constrained to the offered functions)' : ''}`;
    if (o.constrainActions && o.tokenizer.vocabSize === undefined) throw new Error('constrainActions needs a tokenizer that reports its vocabSize');
    this.vocabulary = o.constrainActions ? tokenPieces({ decode: (ids) => o.tokenizer.decode(ids), vocabSize: o.tokenizer.vocabSize! }) : null;
    if (o.promptTemplate !== undefined) this.promptTemplate = o.promptTemplate;
    if (o.fitting !== undefined) this.fitting = o.fitting;
    this.contextWindow = kilnContextWindow(o.tokenizer, o.maxPositions, o.maxNewTokens);
    this.maxBatch = o.batchSize;
    if (o.maxNewTokens >= o.maxPositions) {
      throw new Error(`max new tokens (${o.maxNewTokens}) must be below the model's ${o.maxPositions} positions`);
    }
  }

  async complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    const budget = this.o.maxPositions - this.o.maxNewTokens;
    const results: PolicyCompletion[] = new Array(requests.length);
    const fitting: { index: number; ids: number[] }[] = [];
    requests.forEach((r, index) => {
      const ids = this.o.encodePrompt ? this.o.encodePrompt(r.messages) : this.o.tokenizer.encode(renderInferencePrompt(r.messages, 'training'));
      if (ids.length > budget) {
        results[index] = {
          ok: false,
          kind: 'context_overflow',
          message: `prompt of ${ids.length} tokens exceeds ${budget} (${this.o.maxPositions} positions − ${this.o.maxNewTokens} new tokens)`,
        };
      } else fitting.push({ index, ids });
    });
    if (fitting.length > 0) {
      const vocabulary = this.vocabulary;
      const offered = fitting.map((f) => requests[f.index]!.functions.map(offeredFunction));
      const outputs = await this.o.model.generate(
        fitting.map((f) => f.ids),
        {
          maxNewTokens: this.o.maxNewTokens,
          temperature: this.o.temperature,
          seed: this.o.seed,
          stopStrings: this.stops,
          tokenizer: this.o.tokenizer,
          ...(this.o.stopAfterActionInput ? { stopWhen: (text: string) => actionInputEnd(text) >= 0 } : {}),
          ...(vocabulary ? { allowedTokens: (b: number, ids: readonly number[]) => allowedActionTokens(this.o.tokenizer.decode([...ids]), offered[b]!, vocabulary) } : {}),
        },
      );
      if (outputs.length !== fitting.length) {
        throw new Error(`model.generate returned ${outputs.length} outputs for ${fitting.length} prompts`);
      }
      fitting.forEach((f, i) => {
        const text = cutAtStop(this.o.tokenizer.decode(outputs[i]!), this.stops);
        const end = this.o.stopAfterActionInput ? actionInputEnd(text) : -1;
        results[f.index] = { ok: true, text: end >= 0 ? text.slice(0, end) : text };
      });
    }
    return results;
  }

  close(): void {
    this.o.model.dispose?.();
  }
}

export function cutAtStop(text: string, stops: readonly string[] = KILN_STOP_STRINGS): string {
  let end = text.length;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/** What the constraint needs of a function: its name, its parameters' keys, and the values of those with an enum. */
function offeredFunction(fn: ToolFunction): OfferedFunction {
  const properties = Object.entries(fn.parameters.properties);
  const enums = Object.fromEntries(properties.flatMap(([key, schema]) => (schema.enum ? [[key, schema.enum]] : [])));
  return { name: fn.name, keys: properties.map(([key]) => key), enums };
}
