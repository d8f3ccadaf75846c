/**
 * `weightsDtype: 'f16'`: the linear layers' weights stored as halves for inference. The same seeded
 * model in f32 is the reference (TOLERANCE.f16); training and saving refuse.
 */
import { describe, expect, it } from 'vitest';
import { optConfig } from '../../src/model/config.js';
import { KVCache } from '../../src/model/kvCache.js';
import { OPTForCausalLM } from '../../src/model/opt.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();

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
    const caches = [new KVCache(gpu(), 2, 1, 12, 24), new KVCache(gpu(), 2, 1, 12, 24)];
    const mask = new Int32Array(12).fill(1);
    const prompt = Int32Array.of(2, 9, 17, 4);
    const step = async (ids: Int32Array, Tk: number) => {
      const got = [f32, f16].map((m, i) => m.lastPositionLogits(ids, mask.subarray(0, Tk), 1, ids.length, caches[i]!));
      expectClose(await got[1]!.toArray(), await got[0]!.toArray(), TOLERANCE.f16, `decode Tk=${Tk}`);
      got.forEach((t) => t.release());
    };
    await step(prompt, 4);
    for (let s = 0; s < 3; s++) await step(Int32Array.of(5 + s), 5 + s);
    caches.forEach((c) => c.release());
    f32.dispose();
    f16.dispose();
  });

  it('refuses to train or save', async () => {
    const { f32, f16 } = await pair();
    expect(() => f16.forward({ inputIds: [[2, 5, 9]], labels: [[2, 5, 9]] })).toThrow(/inference only/);
    await expect(f16.save('/nonexistent-kiln-dir')).rejects.toThrow(/f16 weights/);
    f32.dispose();
    f16.dispose();
  });
});
