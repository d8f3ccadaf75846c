/**
 * Constrained decoding of the Action line: which tokens `allowedActionTokens` lets through, that
 * `generate` honours the restriction (greedy and sampled, with a stand-in model on the host), and
 * that the kiln policy hands each request its own offered names.
 */
import { describe, expect, it } from 'vitest';
import { allowedActionTokens, indexPieces, tokenPieces } from '../../src/eval/agent/actionNames.js';
import { KilnPolicy, type GenerativeModel, type TextTokenizer } from '../../src/eval/policies/kiln.js';
import type { PolicyRequest } from '../../src/eval/policies/policy.js';
import type { GenerationModel } from '../../src/model/causalLM.js';
import { generate, type GenerateOptions } from '../../src/model/generate.js';
import type { Tensor } from '../../src/autograd/tensor.js';

// A vocabulary of characters and a few longer pieces, as a BPE vocabulary mixes them.
const PIECES = [...'abcdefghijklmnopqrstuvwxyz_: \n{}"AI', ' pollen', '_for', 'kavelo', 'o\nAction', 'o\nThought', ' {"', 'Finish', ''];
const vocabulary = indexPieces(PIECES);
const offer = (names: string[], keys: readonly string[] = []) => names.map((name) => ({ name, keys }));
const allowedPieces = (text: string, names: string[], keys: readonly string[] = []) =>
  (allowedActionTokens(text, offer(names, keys), vocabulary) ?? []).map((i) => PIECES[i]!);
// What may follow inside a free string: any piece but those with a raw newline, and the empty one.
const IN_STRING = PIECES.filter((p) => p !== '' && !p.includes('\n')).sort();

describe('allowedActionTokens', () => {
  const names = ['pollen_for_kavelo', 'wind_for_kavelo', 'Finish'];

  it('is free outside the Action line and its next label: in the Thought and in the input', () => {
    expect(allowedActionTokens('\nThought: I need the pollen.', offer(names), vocabulary)).toBeNull();
    expect(allowedActionTokens('\nThought: t\nAction: Finish\nAction Input: {"a": 1}', offer(names, ['a']), vocabulary)).toBeNull();
  });

  it('after the name, holds the next line to the label Action Input:', () => {
    expect(allowedPieces('\nThought: t\nAction: pollen_for_kavelo\n', names)).toEqual(['A']);
    expect(allowedPieces('\nAction: pollen_for_kavelo\nAction', names)).toEqual([' ']);
    expect(allowedPieces('\nAction: pollen_for_kavelo\nAction Inpu', names)).toEqual(['t']);
    // A piece that finishes the label runs on only into the input's grammar: ` pollen` may not, ` {"` may.
    expect(allowedPieces('\nAction: pollen_for_kavelo\nAction Input:', names).sort()).toEqual([' ', ' {"'].sort());
  });

  it('inside the line, lets through exactly the pieces that keep it a prefix of an offered name and its newline', () => {
    expect(allowedPieces('\nThought: t\nAction:', names).sort()).toEqual([' ', ' pollen'].sort());
    expect(allowedPieces('\nThought: t\nAction: ', names).sort()).toEqual(['Finish', 'p', 'w']);
    expect(allowedPieces('\nAction: pollen', names).sort()).toEqual(['_', '_for'].sort());
    expect(allowedPieces('\nAction: pollen_for_', names)).toEqual(['k', 'kavelo']);
    // The name's last character may come with what follows the newline, in one piece, if that is the label.
    expect(allowedPieces('\nAction: pollen_for_kavel', names)).toEqual(['o', 'o\nAction']);
    expect(allowedPieces('\nAction: pollen_for_kavelo', names)).toEqual(['\n']);
    // The empty piece (a special token that decodes to nothing) never is.
    expect(allowedPieces('\nAction:', names)).not.toContain('');
  });

  it("inside the input's object, allows only the called function's keys not yet written; values stay free", () => {
    const keys = ['city', 'days'];
    const input = '\nThought: t\nAction: pollen_for_kavelo\nAction Input: {"';
    expect(allowedPieces(input, names, keys).sort()).toEqual(['c', 'd']);
    expect(allowedPieces(`${input}ci`, names, keys)).toEqual(['t']);
    // A piece may close the key and go on.
    expect(allowedPieces(`${input}city`, names, keys)).toContain('"');
    // The value is free: every piece a JSON string can hold (not a raw newline).
    expect(allowedPieces(`${input}city": "`, names, keys).sort()).toEqual(IN_STRING);
    // The second key cannot repeat the first.
    expect(allowedPieces(`${input}city": "Oslo", "`, names, keys)).toEqual(['d']);
    // Once the object closes, the model is free; the label ends in its space, then the brace.
    expect(allowedActionTokens(`${input}city": "Oslo"}`, offer(names, keys), vocabulary)).toBeNull();
    expect(allowedPieces('\nAction: pollen_for_kavelo\nAction Input:', names, keys).sort()).toEqual([' ', ' {"'].sort());
    expect(allowedPieces('\nAction: pollen_for_kavelo\nAction Input: ', names, keys)).toEqual(['{']);
    // Finish's keys are its own.
    expect(allowedPieces('\nAction: Finish\nAction Input: {"', names, ['return_type', 'final_answer']).sort()).toEqual(['f', 'r']);
  });

  it("holds a value whose schema lists an enum to one of its strings; the other values stay free", () => {
    const finish = [{ name: 'Finish', keys: ['return_type', 'final_answer'], enums: { return_type: ['give_answer', 'give_up'] } }];
    const allowed = (text: string) => (allowedActionTokens(`\nAction: Finish\nAction Input: {${text}`, finish, vocabulary) ?? []).map((i) => PIECES[i]!);
    // After the key, only the colon, one space at most and the opening quote: not a number, not a
    // bracket, not blanks without end.
    expect(allowed('"return_type"').sort()).toEqual([' ', ':'].sort());
    expect(allowed('"return_type":').sort()).toEqual([' ', '"'].sort());
    expect(allowed('"return_type": ')).toEqual(['"']);
    expect(allowed('"return_type": "')).toEqual(['g']);
    expect(allowed('"return_type": "give_')).toEqual(['a', 'u']);
    // A complete value may only close; a prefix of a longer value may not close early.
    expect(allowed('"return_type": "give_up')).toEqual(['"']);
    expect(allowed('"return_type": "give_answe')).toEqual(['r']);
    // After it, the next key is constrained as before and the free value is free.
    expect(allowed('"return_type": "give_up", "')).toEqual(['f']);
    expect(allowed('"return_type": "give_up", "final_answer": "').sort()).toEqual(IN_STRING);
    // The same key without an enum in the schema is free.
    const free = [{ name: 'Finish', keys: ['return_type'] }];
    expect((allowedActionTokens('\nAction: Finish\nAction Input: {"return_type": "', free, vocabulary) ?? []).map((i) => PIECES[i]!).sort()).toEqual(IN_STRING);
  });

  it('leaves the model free where no offered name can continue the line', () => {
    expect(allowedActionTokens('\nAction: zzz', offer(names), vocabulary)).toBeNull();
    expect(allowedActionTokens('\nAction: ', offer(['ünïcode_name']), vocabulary)).toBeNull();
  });

  it('decodes each id once into its piece', () => {
    const tokenizer = { vocabSize: 3, decode: (ids: number[]) => ids.map((i) => ['a', 'b', 'c'][i]).join('') };
    expect(tokenPieces(tokenizer).pieces).toEqual(['a', 'b', 'c']);
  });
});

/** A host-side stand-in model whose logits prefer the lowest id; generate needs only these members. */
function lowestIdModel(vocabSize: number): GenerationModel {
  return {
    vocabSize,
    generationPadId: 0,
    eosTokenIds: [],
    newKVCache: () => {
      throw new Error('not used: useCache is false');
    },
    lastPositionLogits: (_ids: Int32Array, _mask: Int32Array, B: number) => {
      const logits = new Float32Array(B * vocabSize);
      for (let b = 0; b < B; b++) for (let v = 0; v < vocabSize; v++) logits[b * vocabSize + v] = -v;
      return { toArray: async () => logits, release: () => {} } as unknown as Tensor;
    },
  } as unknown as GenerationModel;
}

describe('generate with allowedTokens', () => {
  it('chooses only allowed ids, greedy or sampled, per sequence', async () => {
    const model = lowestIdModel(8);
    const allowedTokens = (b: number, newTokens: readonly number[]) => (newTokens.length === 1 ? [5 + b] : null);
    const base: GenerateOptions = { maxNewTokens: 3, eosTokenId: null, useCache: false, allowedTokens };
    expect(await generate(model, [[1], [1]], base)).toEqual([
      [0, 5, 0],
      [0, 6, 0],
    ]);
    const sampled = await generate(model, [[1], [1]], { ...base, temperature: 1, seed: 3 });
    expect(sampled.map((s) => s[1])).toEqual([5, 6]);
  });

  it('refuses an empty or out-of-range allowed list', async () => {
    const model = lowestIdModel(4);
    await expect(generate(model, [[1]], { maxNewTokens: 1, useCache: false, allowedTokens: () => [] })).rejects.toThrow(/no token/);
    await expect(generate(model, [[1]], { maxNewTokens: 1, useCache: false, allowedTokens: () => [4] })).rejects.toThrow(/not a token id/);
  });
});

describe('KilnPolicy with constrainActions', () => {
  const chars = [...'abcdefghijklmnopqrstuvwxyz_: \nATFI{"'];
  const tokenizer: TextTokenizer = {
    vocabSize: chars.length,
    encode: (text) => Array.from(text, (c) => Math.max(0, chars.indexOf(c))),
    decode: (ids) => ids.map((i) => chars[i]).join(''),
  };
  function request(names: string[]): PolicyRequest {
    return {
      query: { query: 'q', query_id: 1, api_list: [], 'relevant APIs': [] },
      category: 'c',
      messages: [{ role: 'user', content: 'u' }],
      // Finish's one parameter lists an enum, as its return_type does.
      functions: names.map((name) => ({ name, description: '', parameters: { type: 'object', properties: { k: { type: 'string', description: '', ...(name === 'Finish' ? { enum: ['go'] } : {}) } }, required: ['k'], optional: [] } })),
      callIndex: 0,
    };
  }

  it("gives each request of a batch its own offered names, and says so in the policy's description", async () => {
    let opts: GenerateOptions | undefined;
    const model: GenerativeModel = {
      generate: async (inputIds, o) => {
        opts = o;
        return inputIds.map(() => []);
      },
    };
    const settings = { model, tokenizer, source: 'fake', maxPositions: 100, maxNewTokens: 10, temperature: 0, seed: 0, batchSize: 2 };
    const policy = new KilnPolicy({ ...settings, constrainActions: true });
    await policy.complete([request(['ab_for_x', 'Finish']), request(['cd_for_y', 'Finish'])]);
    const allowed = (b: number, text: string) => opts!.allowedTokens!(b, tokenizer.encode(text))?.map((i) => chars[i]).sort();
    expect(allowed(0, '\nAction: ')).toEqual(['F', 'a']);
    // The called function's parameters bound the input's keys.
    expect(allowed(0, '\nAction: ab_for_x\nAction Input: {"')).toEqual(['k']);
    expect(allowed(1, '\nAction: ')).toEqual(['F', 'c']);
    // A parameter's enum bounds its value; a parameter without one is free.
    expect(allowed(0, '\nAction: Finish\nAction Input: {"k": "')).toEqual(['g']);
    expect(allowed(0, '\nAction: ab_for_x\nAction Input: {"k": "')).toEqual(chars.filter((c) => c !== '\n').sort());
    expect(allowed(0, '\nThought: ')).toBeUndefined();
    expect(policy.description).toMatch(/constrained/);
    // Without the option the model decodes freely, as ToolBench's runs do.
    await new KilnPolicy(settings).complete([request(['ab_for_x'])]);
    expect(opts!.allowedTokens).toBeUndefined();
    expect(new KilnPolicy(settings).description).not.toMatch(/constrained/);
    expect(() => new KilnPolicy({ ...settings, tokenizer: { encode: tokenizer.encode, decode: tokenizer.decode }, constrainActions: true })).toThrow(/vocabSize/);
  });
});
