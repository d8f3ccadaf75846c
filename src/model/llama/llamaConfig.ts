/**
 * The Llama family's configuration (model_type llama, qwen2, qwen3: Llama 3.2, SmolLM2, Qwen2.5,
 * Qwen3) parsed from Hugging Face's `config.json` into a typed, validated `LlamaConfig`. Defaults
 * are those of transformers' LlamaConfig / Qwen2Config / Qwen3Config. What kiln does not compute
 * (sliding windows, rope types other than default and llama3, another activation) is refused with
 * an error naming the key. The original JSON is kept so that saving writes back every key.
 */
import { readFileSync } from 'node:fs';

export type LlamaModelType = 'llama' | 'qwen2' | 'qwen3';

/** rope_scaling of type llama3 (Llama 3.1/3.2): low frequencies slowed by `factor`, a smooth band between. */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface LlamaConfig {
  modelType: LlamaModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** Per-head width; Qwen3's need not be hidden/heads. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Biases on q, k, v (and o for Llama's attention_bias; Qwen2 has them on q, k, v only). */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Qwen3's per-head RMS norm on q and k before the rotation. */
  qkNorm: boolean;
  initializerRange: number;
  attentionDropout: number;
  bosTokenId: number | null;
  /** Every token that ends generation (config.json may give one id or a list). */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** config.json as read (or built), written back on save with only the dtype changed. */
  json: Record<string, unknown>;
}

export const llamaModelTypes: readonly LlamaModelType[] = ['llama', 'qwen2', 'qwen3'];

type Raw = Record<string, unknown>;

function int(raw: Raw, key: string, source: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${source}: ${key} must be a positive integer, got ${JSON.stringify(raw[key])}`);
  return v;
}

function num(raw: Raw, key: string, source: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${source}: ${key} must be a non-negative number, got ${JSON.stringify(raw[key])}`);
  return v;
}

function bool(raw: Raw, key: string, source: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'boolean') throw new Error(`${source}: ${key} must be true or false, got ${JSON.stringify(raw[key])}`);
  return v;
}

function tokenIds(raw: Raw, key: string, source: string): number[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  const ids = Array.isArray(v) ? v : [v];
  for (const id of ids) if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`${source}: ${key} must be a token id or a list of them, got ${JSON.stringify(v)}`);
  return ids as number[];
}

/**
 * The rope settings, from transformers 5's `rope_parameters` or the older `rope_theta` +
 * `rope_scaling` pair. Types other than default and llama3 change the angles in ways kiln does not
 * compute, so they are refused rather than silently ignored.
 */
function parseRope(raw: Raw, source: string): { theta: number; scaling: Llama3RopeScaling | null } {
  const params = (raw.rope_parameters ?? raw.rope_scaling ?? null) as Raw | null;
  if (params !== null && (typeof params !== 'object' || Array.isArray(params))) throw new Error(`${source}: rope_parameters / rope_scaling must be an object`);
  const theta = num(params && params.rope_theta !== undefined ? params : raw, 'rope_theta', source, 10000);
  const type = params ? (params.rope_type ?? params.type ?? 'default') : 'default';
  if (type === 'default') return { theta, scaling: null };
  if (type !== 'llama3') throw new Error(`${source}: rope type ${JSON.stringify(type)} is not supported (kiln computes "default" and "llama3")`);
  const p = params!;
  return {
    theta,
    scaling: {
      factor: num(p, 'factor', source, NaN),
      lowFreqFactor: num(p, 'low_freq_factor', source, NaN),
      highFreqFactor: num(p, 'high_freq_factor', source, NaN),
      originalMaxPositionEmbeddings: int(p, 'original_max_position_embeddings', source),
    },
  };
}

function refuseUnsupported(raw: Raw, source: string): void {
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw new Error(`${source}: hidden_act ${JSON.stringify(act)} is not supported (the Llama family uses "silu")`);
  if (raw.use_sliding_window === true) throw new Error(`${source}: use_sliding_window true is not supported`);
  if (raw.pretraining_tp !== undefined && raw.pretraining_tp !== 1) throw new Error(`${source}: pretraining_tp ${JSON.stringify(raw.pretraining_tp)} is not supported (only 1)`);
  if (Array.isArray(raw.layer_types) && raw.layer_types.some((t) => t !== 'full_attention')) {
    throw new Error(`${source}: layer_types other than "full_attention" (sliding windows) are not supported`);
  }
}

/** Parses a `config.json` object of a Llama-family model; `source` names the file in errors. */
export function parseLlamaConfig(json: unknown, source = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const raw = json as Raw;
  const modelType = raw.model_type as LlamaModelType;
  if (!llamaModelTypes.includes(modelType)) throw new Error(`${source}: model_type ${JSON.stringify(raw.model_type)} is not one of ${llamaModelTypes.join(', ')}`);
  refuseUnsupported(raw, source);
  const hiddenSize = int(raw, 'hidden_size', source, 4096);
  const numAttentionHeads = int(raw, 'num_attention_heads', source, 32);
  const numKeyValueHeads = int(raw, 'num_key_value_heads', source, numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) throw new Error(`${source}: num_attention_heads ${numAttentionHeads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`);
  const headDim = int(raw, 'head_dim', source, Math.floor(hiddenSize / numAttentionHeads));
  if (headDim % 2 !== 0) throw new Error(`${source}: head_dim ${headDim} must be even for the rotary embedding`);
  const rope = parseRope(raw, source);
  const attentionBias = bool(raw, 'attention_bias', source, false);
  const config: LlamaConfig = {
    modelType,
    vocabSize: int(raw, 'vocab_size', source, 32000),
    hiddenSize,
    intermediateSize: int(raw, 'intermediate_size', source, 11008),
    numHiddenLayers: int(raw, 'num_hidden_layers', source, 32),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: num(raw, 'rms_norm_eps', source, 1e-6),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    maxPositionEmbeddings: int(raw, 'max_position_embeddings', source, 2048),
    tieWordEmbeddings: bool(raw, 'tie_word_embeddings', source, false),
    // Qwen2's attention always has q/k/v biases and none on o; Llama's and Qwen3's follow attention_bias.
    qkvBias: modelType === 'qwen2' ? true : attentionBias,
    oBias: modelType === 'qwen2' ? false : attentionBias,
    mlpBias: modelType === 'llama' ? bool(raw, 'mlp_bias', source, false) : false,
    qkNorm: modelType === 'qwen3',
    initializerRange: num(raw, 'initializer_range', source, 0.02),
    attentionDropout: num(raw, 'attention_dropout', source, 0),
    bosTokenId: tokenIds(raw, 'bos_token_id', source)[0] ?? null,
    eosTokenIds: tokenIds(raw, 'eos_token_id', source),
    padTokenId: tokenIds(raw, 'pad_token_id', source)[0] ?? null,
    json: { ...raw },
  };
  for (const id of [config.bosTokenId, config.padTokenId, ...config.eosTokenIds]) {
    if (id !== null && id >= config.vocabSize) throw new Error(`${source}: token id ${id} is outside the vocabulary (vocab_size ${config.vocabSize})`);
  }
  return config;
}

/** Reads and parses the Llama-family `config.json` at `path`. */
export function readLlamaConfig(path: string): LlamaConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseLlamaConfig(json, path);
}

/** config.json for saving: the JSON read, with the stored dtype. */
export function llamaConfigToJson(config: LlamaConfig, torchDtype: string): Record<string, unknown> {
  const json = { ...config.json };
  if ('dtype' in json && !('torch_dtype' in json)) json.dtype = torchDtype;
  else json.torch_dtype = torchDtype;
  return json;
}

/** The padding id generation fills with: pad_token_id, else the first EOS (as HF's generate), else 0. */
export function generationPadId(config: LlamaConfig): number {
  return config.padTokenId ?? config.eosTokenIds[0] ?? 0;
}
