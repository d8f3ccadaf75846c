/**
 * The list of OPT's trainable tensors under the canonical Hugging Face names
 * (`OPTForCausalLM.state_dict()` minus the tied `lm_head.weight`), with PyTorch's shapes
 * (Linear weights are [out, in]). Loading, saving, the optimizer and the model all agree on this
 * list, in this order.
 */
import type { OptConfig } from './opt/optConfig.js';

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Whether AdamW's weight decay applies: matrices yes; biases and layer norms no. */
  decay: boolean;
}


/**
 * OPT's parameters for `config`.
 *
 * Checked against facebook/opt-350m (hidden 1024, word_embed_proj_dim 512, 24 layers, ffn 4096,
 * do_layer_norm_before false): 388 tensors, 331,196,416 elements. Its hub `pytorch_model.bin`
 * holds the same 388 tensors (named `decoder.*`): being post-LN it has no
 * `decoder.final_layer_norm`, and it has `project_in`/`project_out` because 512 != 1024.
 */
export function optParameterSpec(config: OptConfig): ParameterSpec[] {
  const H = config.hiddenSize;
  const P = config.wordEmbedProjDim;
  const F = config.ffnDim;
  const specs: ParameterSpec[] = [];
  const matrix = (name: string, shape: number[]) => specs.push({ name, shape, decay: true });
  const vector = (name: string, length: number) => specs.push({ name, shape: [length], decay: false });
  const linear = (prefix: string, outDim: number, inDim: number) => {
    matrix(`${prefix}.weight`, [outDim, inDim]);
    if (config.enableBias) vector(`${prefix}.bias`, outDim);
  };
  const layerNorm = (prefix: string) => {
    if (!config.layerNormElementwiseAffine) return;
    vector(`${prefix}.weight`, H);
    vector(`${prefix}.bias`, H);
  };

  const decoder = 'model.decoder';
  matrix(`${decoder}.embed_tokens.weight`, [config.vocabSize, P]);
  // OPT's learned positions are offset by 2 (fairseq's padding convention), hence the 2 rows.
  matrix(`${decoder}.embed_positions.weight`, [config.maxPositionEmbeddings + 2, H]);
  if (P !== H) {
    // Bias-free projections between the embedding width and the model width.
    matrix(`${decoder}.project_out.weight`, [P, H]);
    matrix(`${decoder}.project_in.weight`, [H, P]);
  }
  if (config.doLayerNormBefore && !config.removeFinalLayerNorm) layerNorm(`${decoder}.final_layer_norm`);
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const layer = `${decoder}.layers.${i}`;
    linear(`${layer}.self_attn.k_proj`, H, H);
    linear(`${layer}.self_attn.v_proj`, H, H);
    linear(`${layer}.self_attn.q_proj`, H, H);
    linear(`${layer}.self_attn.out_proj`, H, H);
    layerNorm(`${layer}.self_attn_layer_norm`);
    linear(`${layer}.fc1`, F, H);
    linear(`${layer}.fc2`, H, F);
    layerNorm(`${layer}.final_layer_norm`);
  }
  return specs;
}
