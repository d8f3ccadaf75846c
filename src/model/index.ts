// The model layer: OPT and the Llama family (Llama, Qwen2, Qwen3) behind one causal-LM contract,
// their configs, checkpoints, tokenizers with chat templates, and generation.
export { OPTForCausalLM } from './opt.js';
export { LlamaForCausalLM } from './llama.js';
export { AutoModelForCausalLM, type AnyCausalLM, supportedModelTypes } from './autoModel.js';
export { type CausalLM, type GenerationModel, type ForwardArgs, type ForwardResult, type LoadOptions, type SaveOptions } from './causalLM.js';
export { Parameter } from './parameters.js';
export { type GenerateOptions } from './generate.js';
export { type IntMatrix } from './inputs.js';
export { Tokenizer } from './tokenizer.js';
export { type ChatMessage, type ChatRenderOptions, type EncodedChat, renderChat, encodeChat } from './chatTemplate.js';
export { type OptConfig, optConfig, parseOptConfig, readOptConfig, configToJson } from './config.js';
export { type LlamaConfig, type LlamaModelType, parseLlamaConfig, readLlamaConfig } from './llamaConfig.js';
export { optParameterSpec, type ParameterSpec } from './parameterSpec.js';
export { llamaParameterSpec } from './llamaParameters.js';
export { resolveModelFiles } from './hub.js';
