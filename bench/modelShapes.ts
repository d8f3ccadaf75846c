/**
 * The models bench:model times, as random-weight models of their published shapes (config.json
 * values of the hub repos): OPT-350m, and the Llama-family models people fine-tune for tool
 * calling. `KILN_BENCH_MODEL` picks one (default opt-350m).
 */
import type { Gpu } from '../src/kernels/runtime/device.js';
import type { AnyCausalLM } from '../src/model/autoModel.js';
import { optConfig } from '../src/model/opt/optConfig.js';
import { LlamaForCausalLM } from '../src/model/llama/llama.js';
import { parseLlamaConfig } from '../src/model/llama/llamaConfig.js';
import { OPTForCausalLM } from '../src/model/opt/opt.js';

const llamaShapes: Record<string, Record<string, unknown>> = {
  // The demo's tiny Llama (scripts/demo/knobs.ts, 2,048-token vocabulary), whose steps are short enough that per-dispatch costs show.
  demo: { model_type: 'llama', vocab_size: 2048, hidden_size: 128, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, rope_theta: 10000, max_position_embeddings: 512, rms_norm_eps: 1e-6, tie_word_embeddings: true },
  'smollm2-135m': { model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, max_position_embeddings: 8192, rms_norm_eps: 1e-5, tie_word_embeddings: true },
  'smollm2-360m': { model_type: 'llama', vocab_size: 49152, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, rope_theta: 100000, max_position_embeddings: 8192, rms_norm_eps: 1e-5, tie_word_embeddings: true },
  'qwen2.5-0.5b': { model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rope_theta: 1000000, max_position_embeddings: 32768, rms_norm_eps: 1e-6, tie_word_embeddings: true },
};

export const benchModelNames = ['opt-350m', ...Object.keys(llamaShapes)];

/** A seeded random model of the named shape. */
export async function benchModel(name: string, gpu: Gpu, weightsDtype: 'f32' | 'f16'): Promise<AnyCausalLM> {
  if (name === 'opt-350m') {
    const config = optConfig({ vocabSize: 50272, hiddenSize: 1024, wordEmbedProjDim: 512, numHiddenLayers: 24, numAttentionHeads: 16, ffnDim: 4096, maxPositionEmbeddings: 2048, doLayerNormBefore: false });
    return OPTForCausalLM.fromConfig(config, { gpu, seed: 1, weightsDtype });
  }
  const shape = llamaShapes[name];
  if (!shape) throw new Error(`KILN_BENCH_MODEL=${name}: one of ${benchModelNames.join(', ')}`);
  return LlamaForCausalLM.fromConfig(parseLlamaConfig(shape, name), { gpu, seed: 1, weightsDtype });
}
