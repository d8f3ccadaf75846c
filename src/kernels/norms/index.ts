// Row normalisations and their backward passes: layer norm (OPT) and RMS norm (the Llama family,
// and Qwen3's QK-norm).
export { layerNormBackward, layerNormForward } from './layerNorm.js';
export { rmsNormBackward, rmsNormForward } from './rmsNorm.js';
