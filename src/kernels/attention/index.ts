// Causal multi-head attention in its two variants ('scores', which training runs, and 'flash', for
// decoding and long sequences) behind attentionForward/attentionBackward, and the rotary and KV-head kernels.
export { attentionBackward, attentionForward, attentionVariant, type AttentionInputs, type AttentionVariant } from './attention.js';
export { everyRowSeesAKey } from './masking.js';
export { rotaryEmbedding } from './rotary.js';
export { expandKvHeads, reduceKvHeads } from './kvHeads.js';
