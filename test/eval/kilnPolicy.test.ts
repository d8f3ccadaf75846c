import { describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../../src/model/generate.js';
import { KilnPolicy, cutAtStop, type GenerativeModel, type TextTokenizer } from '../../src/eval/policies/kiln.js';
import type { PolicyRequest } from '../../src/eval/policies/policy.js';

/** One "token" per character: enough to check lengths, batching and decoding. */
const charTokenizer: TextTokenizer = {
  encode: (text) => Array.from(text, (c) => c.codePointAt(0)!),
  decode: (ids) => String.fromCodePoint(...ids),
};

class EchoModel implements GenerativeModel {
  calls: { batch: number; opts: GenerateOptions }[] = [];
  async generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]> {
    this.calls.push({ batch: inputIds.length, opts });
    return inputIds.map((ids) => charTokenizer.encode(`Thought: t${ids.length}\nAction: Finish\nAction Input: {}</s>\nFunction: junk`));
  }
}

function request(content: string): PolicyRequest {
  return {
    query: { query: 'q', query_id: 1, api_list: [], 'relevant APIs': [] },
    category: 'c',
    messages: [{ role: 'system', content }, { role: 'user', content: 'u' }],
    functions: [],
    callIndex: 0,
  };
}

describe('KilnPolicy', () => {
  it('renders ToolLLaMA prompts, generates the fitting ones in one batch, and flags overflows', async () => {
    const model = new EchoModel();
    const policy = new KilnPolicy({ model, tokenizer: charTokenizer, source: 'fake', maxPositions: 100, maxNewTokens: 40, temperature: 0, seed: 1, batchSize: 4 });
    const results = await policy.complete([request('short'), request('x'.repeat(80)), request('tiny')]);
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]!.batch).toBe(2);
    expect(model.calls[0]!.opts.maxNewTokens).toBe(40);
    // "System: short\nUser: u\nAssistant:\n" is 33 characters.
    expect(results[0]).toEqual({ ok: true, text: 'Thought: t33\nAction: Finish\nAction Input: {}' });
    expect(results[1]).toMatchObject({ ok: false, kind: 'context_overflow' });
    expect(results[2]!.ok).toBe(true);
  });

  it('cuts the text at the first stop string', () => {
    expect(cutAtStop('a\nAction Input: {}\nUser: more')).toBe('a\nAction Input: {}');
    expect(cutAtStop('no stop')).toBe('no stop');
  });

  it('with stopAfterActionInput, asks the model to stop when the JSON object closes, and cuts there', async () => {
    class TrailingModel implements GenerativeModel {
      opts?: GenerateOptions;
      async generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]> {
        this.opts = opts;
        return inputIds.map(() => charTokenizer.encode('\nThought: t\nAction: f\nAction Input: {"a": "}{"} trailing\nThought:'));
      }
    }
    const model = new TrailingModel();
    const options = { model, tokenizer: charTokenizer, source: 'fake', maxPositions: 200, maxNewTokens: 40, temperature: 0, seed: 1, batchSize: 4 };
    const [cut] = await new KilnPolicy({ ...options, stopAfterActionInput: true }).complete([request('s')]);
    expect(cut).toEqual({ ok: true, text: '\nThought: t\nAction: f\nAction Input: {"a": "}{"}' });
    expect(model.opts!.stopWhen!('Action Input: {"a": {"b": 1}')).toBe(false);
    expect(model.opts!.stopWhen!('Action Input: {"a": {"b": 1}}')).toBe(true);
    const [whole] = await new KilnPolicy(options).complete([request('s')]);
    expect(model.opts!.stopWhen).toBeUndefined();
    expect(whole).toEqual({ ok: true, text: '\nThought: t\nAction: f\nAction Input: {"a": "}{"} trailing\nThought:' });
  });

  it('refuses a generation budget that leaves no room for a prompt', () => {
    expect(() => new KilnPolicy({ model: new EchoModel(), tokenizer: charTokenizer, source: 'x', maxPositions: 64, maxNewTokens: 64, temperature: 0, seed: 0, batchSize: 1 })).toThrow(/positions/);
  });
});
