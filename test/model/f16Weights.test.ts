/**
 * `weightsDtype: 'f16'`: the linear layers' weights stored as halves for inference, and its KV
 * cache in f16. The same seeded model in f32 is the reference (TOLERANCE.f16), and greedy
 * generation must still give PyTorch's tokens on the golden fixtures; training and saving refuse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optConfig } from '../../src/model/opt/optConfig.js';
import { KVCache } from '../../src/model/kvCache.js';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();

/** A generate.json case of the golden fixtures (test/fixtures/golden). */
interface Generation {
  prompt_input_ids: number[][];
  prompt_attention_mask: number[][];
  new_tokens: number[][];
}

// hidden 24 and ffn 40 (multiples of 8: the packed-halves vec4 path), project_in's K = 12 (not: the
// per-element path); initStd raised so the logits are far from zero.
const tiny = optConfig({
  vocabSize: 53,
  hiddenSize: 24,
  wordEmbedProjDim: 12,
  numHiddenLayers: 2,
  numAttentionHeads: 3,
  ffnDim: 40,
  maxPositionEmbeddings: 32,
  doLayerNormBefore: false,
  initStd: 0.2,
});

async function pair(): Promise<{ f32: OPTForCausalLM; f16: OPTForCausalLM }> {
  return {
    f32: await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 3 }),
    f16: await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 3, weightsDtype: 'f16' }),
  };
}

describe("weightsDtype 'f16'", () => {
  it('stores only the linear weights as halves, at half the bytes', async () => {
    const { f32, f16 } = await pair();
    const dtypes = new Map(f16.namedParameters().map(([name, p]) => [name, p.data.dtype]));
    expect(dtypes.get('model.decoder.layers.0.fc1.weight')).toBe('f16');
    expect(dtypes.get('model.decoder.layers.1.self_attn.q_proj.weight')).toBe('f16');
    expect(dtypes.get('model.decoder.project_in.weight')).toBe('f16');
    expect(dtypes.get('model.decoder.layers.0.fc1.bias')).toBe('f32');
    expect(dtypes.get('model.decoder.embed_tokens.weight')).toBe('f32');
    expect(dtypes.get('model.decoder.layers.0.self_attn_layer_norm.weight')).toBe('f32');
    const w = (m: OPTForCausalLM) => m.parameter('model.decoder.layers.0.fc2.weight').data.buffer.size;
    expect(w(f16)).toBeLessThanOrEqual(w(f32) / 2 + 256);
    f32.dispose();
    f16.dispose();
  });

  it('logits match the f32 model: prefill (gemv at T <= 8, widened weights above) and KV-cache decoding', async () => {
    const { f32, f16 } = await pair();
    for (const T of [5, 13]) {
      const ids = [Array.from({ length: T }, (_, t) => 2 + ((7 * t) % 50))];
      const [a, b] = [f32.forward({ inputIds: ids }).logits!, f16.forward({ inputIds: ids }).logits!];
      expectClose(await b.toArray(), await a.toArray(), TOLERANCE.f16, `prefill T=${T}`);
      a.release();
      b.release();
    }
    const caches = [new KVCache(gpu(), 2, 1, 12, 24, f32.kvCacheDtype), new KVCache(gpu(), 2, 1, 12, 24, f16.kvCacheDtype)];
    const mask = new Int32Array(12).fill(1);
    const prompt = Int32Array.of(2, 9, 17, 4);
    const step = async (ids: Int32Array, Tk: number) => {
      const got = [f32, f16].map((m, i) => m.lastPositionLogits(ids, mask.subarray(0, Tk), 1, ids.length, caches[i]!));
      expectClose(await got[1]!.toArray(), await got[0]!.toArray(), TOLERANCE.f16, `decode Tk=${Tk}`);
      got.forEach((t) => t.release());
    };
    await step(prompt, 4);
    // Each model chose its cache's dtype: f16 k and v for the f16 model, at half the bytes.
    expect(caches.map((c) => c.dtype)).toEqual(['f32', 'f16']);
    expect(caches[1]!.k[0]!.buffer.size).toBeLessThanOrEqual(caches[0]!.k[0]!.buffer.size / 2 + 256);
    for (let s = 0; s < 3; s++) await step(Int32Array.of(5 + s), 5 + s);
    caches.forEach((c) => c.release());
    f32.dispose();
    f16.dispose();
  });

  it('an f16 KV cache prefills and decodes as an f32 one does, to f16 precision (a left-padded row)', async () => {
    const f16 = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 3, weightsDtype: 'f16' });
    const B = 2;
    const caches = [new KVCache(gpu(), 2, B, 16, 24, 'f32'), new KVCache(gpu(), 2, B, 16, 24, 'f16')];
    // 10 prompt rows: prefill runs the 'scores' variant over the cache, decoding 'flash'.
    const prompt = Int32Array.from({ length: 20 }, (_, i) => (i >= 10 && i < 13 ? 1 : 2 + ((11 * i) % 50)));
    const maskRows = [Array<number>(10).fill(1), [0, 0, 0, ...Array<number>(7).fill(1)]];
    let ids = prompt;
    for (let s = 0; s < 4; s++) {
      const mask = Int32Array.from(maskRows.flat());
      const got = caches.map((c) => f16.lastPositionLogits(ids, mask, B, ids.length / B, c));
      expectClose(await got[1]!.toArray(), await got[0]!.toArray(), TOLERANCE.f16, `decode step ${s}`);
      got.forEach((t) => t.release());
      ids = Int32Array.of(5 + s, 20 + s);
      maskRows.forEach((row) => row.push(1));
    }
    expect(caches.map((c) => c.dtype)).toEqual(['f32', 'f16']);
    caches.forEach((c) => c.release());
    expect(() => new KVCache(gpu(), 1, 1, 4, 5, 'f16')).toThrow(/f16 KV cache needs an even row length \(H=5\)/);
    f16.dispose();
  });

  for (const name of ['prenorm', 'postnorm350m'] as const) {
    it(`greedy generation through the f16 KV cache gives PyTorch's tokens (golden ${name})`, async () => {
      const dir = join(repoRoot, 'test', 'fixtures', 'golden', name);
      const generation = JSON.parse(readFileSync(join(dir, 'generate.json'), 'utf8')) as { max_new_tokens: number; padded: Generation; unpadded: Generation };
      const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu(), weightsDtype: 'f16' });
      expect(model.kvCacheDtype).toBe('f16');
      for (const g of [generation.padded, generation.unpadded]) {
        const prompts = g.prompt_input_ids.map((row, b) => row.filter((_, t) => g.prompt_attention_mask[b]![t] === 1));
        expect(await model.generate(prompts, { maxNewTokens: generation.max_new_tokens, eosTokenId: null })).toEqual(g.new_tokens);
      }
      model.dispose();
    });
  }

  it('refuses to train or save', async () => {
    const { f32, f16 } = await pair();
    expect(() => f16.forward({ inputIds: [[2, 5, 9]], labels: [[2, 5, 9]] })).toThrow(/inference only/);
    await expect(f16.save('/nonexistent-kiln-dir')).rejects.toThrow(/f16 weights/);
    f32.dispose();
    f16.dispose();
  });
});
