// The model layer: OPT and the Llama family (Llama, Qwen2, Qwen3) behind one causal-LM contract,
// their configs, checkpoints, tokenizers with chat templates, and generation.
export { OPTForCausalLM } from './opt/opt.js';
export { LlamaForCausalLM } from './llama/llama.js';
export { AutoModelForCausalLM, type AnyCausalLM, supportedModelTypes } from './autoModel.js';
export { type CausalLM, type GenerationModel, type ForwardArgs, type ForwardResult, type LoadOptions, type SaveOptions } from './causalLM.js';
export { Parameter } from './parameters.js';
export { type GenerateOptions } from './generate.js';
export { type IntMatrix } from './inputs.js';
export { Tokenizer } from './tokenizer/tokenizer.js';
export { type ChatMessage, type ChatRenderOptions, type EncodedChat, renderChat, encodeChat } from './tokenizer/chatTemplate.js';
export { type OptConfig, optConfig, parseOptConfig, readOptConfig, configToJson } from './opt/optConfig.js';
export { type LlamaConfig, type LlamaModelType, parseLlamaConfig, readLlamaConfig } from './llama/llamaConfig.js';
export { optParameterSpec, type ParameterSpec } from './parameterSpec.js';
export { llamaParameterSpec } from './llama/llamaParameters.js';
export { resolveModelFiles } from './checkpoint/hub.js';
