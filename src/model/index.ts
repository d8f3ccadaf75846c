export { OPTForCausalLM, type ForwardArgs, type ForwardResult, type LoadOptions } from './opt.js';
export { Parameter } from './parameters.js';
export { type GenerateOptions } from './generate.js';
export { type IntMatrix } from './inputs.js';
export { Tokenizer } from './tokenizer.js';
export { type OptConfig, optConfig, parseOptConfig, readOptConfig, configToJson } from './config.js';
export { optParameterSpec, type ParameterSpec } from './parameterSpec.js';
export { resolveModelFiles } from './hub.js';
