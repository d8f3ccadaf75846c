import { optConfig, type OptConfig } from '../src/model/opt/optConfig.js';

/**
 * The model shapes kiln's benchmarks time, shared by bench:train, bench:model and gpu-check, and
 * handed to the PyTorch anchor as config.json so that both build the same model.
 */

/** facebook/opt-350m's config.json (post-LN, 512-wide embeddings projected to 1024). */
export const OPT_350M: OptConfig = optConfig({
  vocabSize: 50272,
  hiddenSize: 1024,
  numHiddenLayers: 24,
  numAttentionHeads: 16,
  ffnDim: 4096,
  maxPositionEmbeddings: 2048,
  wordEmbedProjDim: 512,
  doLayerNormBefore: false,
  dropout: 0.1,
});

/** A 4-layer, 256-wide model with OPT's vocabulary: a quick check of a harness. */
export const OPT_SMALL: OptConfig = optConfig({
  vocabSize: 50272,
  hiddenSize: 256,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  ffnDim: 1024,
  maxPositionEmbeddings: 2048,
});

export function benchConfig(name: string): OptConfig {
  if (name === '350m') return OPT_350M;
  if (name === 'small') return OPT_SMALL;
  throw new Error(`bench: --config must be 350m or small, not '${name}'`);
}
