/**
 * OPT's model configuration: Hugging Face's `config.json` (snake_case keys) parsed into a typed,
 * validated `OptConfig`, and written back in the same layout so `transformers` loads kiln's
 * checkpoints. Defaults for absent keys are those of `transformers`' `OPTConfig.__init__`.
 */
import { readFileSync } from 'node:fs';
import { type FieldKind, type SizeLimit, checkConfigValue } from '../configFields.js';

export interface OptConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  ffnDim: number;
  maxPositionEmbeddings: number;
  /** Pre-LN (true: 125m, 1.3b and larger) or post-LN (false: 350m). */
  doLayerNormBefore: boolean;
  removeFinalLayerNorm: boolean;
  /** Width of the token embedding; differs from hiddenSize only in 350m (512 vs 1024). */
  wordEmbedProjDim: number;
  dropout: number;
  attentionDropout: number;
  numAttentionHeads: number;
  activationFunction: 'relu';
  layerdrop: number;
  initStd: number;
  enableBias: boolean;
  layerNormElementwiseAffine: boolean;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  tieWordEmbeddings: boolean;
  /** The `torch_dtype` recorded in config.json ('float32', 'float16', 'bfloat16'). */
  torchDtype: string;
  /** Keys kiln does not interpret (`_name_or_path`, `use_cache`, ...), kept for writing back. */
  extra: Record<string, unknown>;
}

/** Every interpreted key: its JSON name, its OptConfig name, its kind and HF's default. */
const fields: ReadonlyArray<{ json: string; key: keyof OptConfig; kind: FieldKind; fallback: unknown; limit?: SizeLimit }> = [
  { json: 'vocab_size', key: 'vocabSize', kind: 'positiveInt', fallback: 50272, limit: 'vocabSize' },
  { json: 'hidden_size', key: 'hiddenSize', kind: 'positiveInt', fallback: 768, limit: 'hiddenSize' },
  { json: 'num_hidden_layers', key: 'numHiddenLayers', kind: 'positiveInt', fallback: 12, limit: 'layers' },
  { json: 'ffn_dim', key: 'ffnDim', kind: 'positiveInt', fallback: 3072, limit: 'ffnDim' },
  { json: 'max_position_embeddings', key: 'maxPositionEmbeddings', kind: 'positiveInt', fallback: 2048, limit: 'positions' },
  { json: 'do_layer_norm_before', key: 'doLayerNormBefore', kind: 'boolean', fallback: true },
  { json: '_remove_final_layer_norm', key: 'removeFinalLayerNorm', kind: 'boolean', fallback: false },
  // word_embed_proj_dim's default is hidden_size; filled in after the other fields.
  { json: 'word_embed_proj_dim', key: 'wordEmbedProjDim', kind: 'positiveInt', fallback: undefined, limit: 'hiddenSize' },
  { json: 'dropout', key: 'dropout', kind: 'probability', fallback: 0.1 },
  { json: 'attention_dropout', key: 'attentionDropout', kind: 'probability', fallback: 0.0 },
  { json: 'num_attention_heads', key: 'numAttentionHeads', kind: 'positiveInt', fallback: 12, limit: 'heads' },
  { json: 'activation_function', key: 'activationFunction', kind: 'string', fallback: 'relu' },
  { json: 'layerdrop', key: 'layerdrop', kind: 'probability', fallback: 0.0 },
  { json: 'init_std', key: 'initStd', kind: 'nonNegativeNumber', fallback: 0.02 },
  { json: 'enable_bias', key: 'enableBias', kind: 'boolean', fallback: true },
  { json: 'layer_norm_elementwise_affine', key: 'layerNormElementwiseAffine', kind: 'boolean', fallback: true },
  { json: 'pad_token_id', key: 'padTokenId', kind: 'nonNegativeInt', fallback: 1 },
  { json: 'bos_token_id', key: 'bosTokenId', kind: 'nonNegativeInt', fallback: 2 },
  { json: 'eos_token_id', key: 'eosTokenId', kind: 'nonNegativeInt', fallback: 2 },
  { json: 'tie_word_embeddings', key: 'tieWordEmbeddings', kind: 'boolean', fallback: true },
  { json: 'torch_dtype', key: 'torchDtype', kind: 'string', fallback: 'float32' },
];

/** Keys written by configToJson itself, so not carried in `extra`. */
const managedKeys = new Set(['model_type', 'architectures', 'dtype', ...fields.map((f) => f.json)]);

/** Cross-field rules: the ones kiln's kernels and parameter layout depend on. */
function checkSupported(config: OptConfig, source: string): void {
  if (config.activationFunction !== 'relu') {
    throw new Error(
      `${source}: activation_function "${config.activationFunction}" is not supported (kiln implements OPT's "relu")`,
    );
  }
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new Error(
      `${source}: hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numAttentionHeads}`,
    );
  }
  if (!config.tieWordEmbeddings) {
    throw new Error(`${source}: tie_word_embeddings false is not supported (kiln's LM head is embed_tokens)`);
  }
  for (const [json, id] of [
    ['pad_token_id', config.padTokenId],
    ['bos_token_id', config.bosTokenId],
    ['eos_token_id', config.eosTokenId],
  ] as const) {
    if (id >= config.vocabSize) {
      throw new Error(`${source}: ${json} ${id} is outside the vocabulary (vocab_size ${config.vocabSize})`);
    }
  }
}

/**
 * Parses a `config.json` object. `source` names the file in error messages. `dtype` (the name
 * newer `transformers` versions write instead of `torch_dtype`) is accepted as well.
 */
export function parseOptConfig(json: unknown, source = 'config.json'): OptConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  if (raw.model_type !== undefined && raw.model_type !== 'opt') {
    throw new Error(`${source}: model_type ${JSON.stringify(raw.model_type)} is not supported (expected "opt")`);
  }
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    let value = raw[field.json];
    if (field.json === 'torch_dtype' && (value === undefined || value === null)) value = raw.dtype;
    if (value === undefined || value === null) {
      values[field.key] = field.json === 'word_embed_proj_dim' ? values.hiddenSize : field.fallback;
      continue;
    }
    checkConfigValue(value, field.kind, `${source}: ${field.json}`, field.limit);
    values[field.key] = value;
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!managedKeys.has(k)) extra[k] = v;
  const config = { ...values, extra } as unknown as OptConfig;
  checkSupported(config, source);
  return config;
}

/** Reads and parses `config.json` at `path`. */
export function readOptConfig(path: string): OptConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read OPT config ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  return parseOptConfig(json, path);
}

/**
 * Builds a config programmatically from camelCase fields, with the same defaults and checks as a
 * parsed file (tests and the demo describe small models this way).
 */
export function optConfig(fieldsGiven: Partial<OptConfig> = {}): OptConfig {
  const json: Record<string, unknown> = { ...(fieldsGiven.extra ?? {}) };
  for (const field of fields) {
    const value = fieldsGiven[field.key];
    if (value !== undefined) json[field.json] = value;
  }
  return parseOptConfig(json, 'optConfig()');
}

/** The config in Hugging Face's `config.json` layout, ready for JSON.stringify. */
export function configToJson(config: OptConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    ...config.extra,
    architectures: ['OPTForCausalLM'],
    model_type: 'opt',
  };
  for (const field of fields) json[field.json] = config[field.key];
  return json;
}
