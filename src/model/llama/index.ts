// The Llama family (Llama 3, SmolLM2, Qwen2, Qwen3) as one model class: its config, its
// parameters under Hugging Face's names, and the rotary angles it computes on the host.
export * from './llama.js';
export * from './llamaConfig.js';
export * from './llamaParameters.js';
export * from './rotaryAngles.js';
