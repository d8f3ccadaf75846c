/**
 * The Llama family's parameters under Hugging Face's names, in the order its modules register
 * them (LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM state_dict, with `lm_head.weight`
 * only when the head is not tied), and the initialisation a fresh model gets: Linear and
 * Embedding weights ~ N(0, initializer_range), biases 0, RMS norm weights 1, the padding row 0.
 */
import { elementCount } from '../../autograd/tensor.js';
import type { LlamaConfig } from './llamaConfig.js';
import type { ParameterSpec } from '../parameterSpec.js';
import type { SeededRandom } from '../random.js';

export function llamaParameterSpec(config: LlamaConfig): ParameterSpec[] {
  const H = config.hiddenSize;
  const D = config.headDim;
  const specs: ParameterSpec[] = [];
  const matrix = (name: string, shape: number[]) => specs.push({ name, shape, decay: true });
  // Norm weights and biases take no weight decay (transformers' Trainer exempts biases and norms).
  const vector = (name: string, length: number) => specs.push({ name, shape: [length], decay: false });
  const linear = (prefix: string, outDim: number, inDim: number, bias: boolean) => {
    matrix(`${prefix}.weight`, [outDim, inDim]);
    if (bias) vector(`${prefix}.bias`, outDim);
  };
  matrix('model.embed_tokens.weight', [config.vocabSize, H]);
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const layer = `model.layers.${i}`;
    linear(`${layer}.self_attn.q_proj`, config.numAttentionHeads * D, H, config.qkvBias);
    linear(`${layer}.self_attn.k_proj`, config.numKeyValueHeads * D, H, config.qkvBias);
    linear(`${layer}.self_attn.v_proj`, config.numKeyValueHeads * D, H, config.qkvBias);
    linear(`${layer}.self_attn.o_proj`, H, config.numAttentionHeads * D, config.oBias);
    if (config.qkNorm) {
      vector(`${layer}.self_attn.q_norm.weight`, D);
      vector(`${layer}.self_attn.k_norm.weight`, D);
    }
    linear(`${layer}.mlp.gate_proj`, config.intermediateSize, H, config.mlpBias);
    linear(`${layer}.mlp.up_proj`, config.intermediateSize, H, config.mlpBias);
    linear(`${layer}.mlp.down_proj`, H, config.intermediateSize, config.mlpBias);
    vector(`${layer}.input_layernorm.weight`, H);
    vector(`${layer}.post_attention_layernorm.weight`, H);
  }
  vector('model.norm.weight', H);
  if (!config.tieWordEmbeddings) matrix('lm_head.weight', [config.vocabSize, H]);
  return specs;
}

/** HF's fresh-model values for one parameter, from a seeded stream (normals drawn in spec order). */
export function llamaInitialValues(spec: ParameterSpec, config: LlamaConfig, rng: SeededRandom): Float32Array {
  const n = elementCount(spec.shape);
  if (spec.name.endsWith('norm.weight')) return new Float32Array(n).fill(1);
  if (spec.name.endsWith('.bias')) return new Float32Array(n);
  const values = rng.normals(n, config.initializerRange);
  if (spec.name === 'model.embed_tokens.weight' && config.padTokenId !== null) {
    values.fill(0, config.padTokenId * config.hiddenSize, (config.padTokenId + 1) * config.hiddenSize);
  }
  return values;
}
