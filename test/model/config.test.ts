import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configToJson, optConfig, parseOptConfig, readOptConfig } from '../../src/model/opt/optConfig.js';
import { elementCount } from '../../src/autograd/tensor.js';
import { optParameterSpec } from '../../src/model/parameterSpec.js';

/** facebook/opt-350m's published config.json. */
const opt350mConfigJson = {
  _name_or_path: 'facebook/opt-350m',
  activation_dropout: 0.0,
  activation_function: 'relu',
  architectures: ['OPTForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 2,
  do_layer_norm_before: false,
  dropout: 0.1,
  eos_token_id: 2,
  ffn_dim: 4096,
  hidden_size: 1024,
  init_std: 0.02,
  layerdrop: 0.0,
  max_position_embeddings: 2048,
  model_type: 'opt',
  num_attention_heads: 16,
  num_hidden_layers: 24,
  pad_token_id: 1,
  prefix: '</s>',
  torch_dtype: 'float16',
  transformers_version: '4.20.0.dev0',
  use_cache: true,
  vocab_size: 50272,
  word_embed_proj_dim: 512,
};

describe('OPT config', () => {
  it('fills in HF OPTConfig defaults for missing keys', () => {
    const c = parseOptConfig({});
    expect(c).toMatchObject({
      vocabSize: 50272,
      hiddenSize: 768,
      numHiddenLayers: 12,
      ffnDim: 3072,
      maxPositionEmbeddings: 2048,
      doLayerNormBefore: true,
      removeFinalLayerNorm: false,
      wordEmbedProjDim: 768,
      dropout: 0.1,
      attentionDropout: 0,
      numAttentionHeads: 12,
      activationFunction: 'relu',
      layerdrop: 0,
      initStd: 0.02,
      enableBias: true,
      layerNormElementwiseAffine: true,
      padTokenId: 1,
      bosTokenId: 2,
      eosTokenId: 2,
      tieWordEmbeddings: true,
    });
    expect(parseOptConfig({ hidden_size: 64, num_attention_heads: 4 }).wordEmbedProjDim).toBe(64);
  });

  it('parses 350m and writes it back in HF layout, keeping unknown keys', () => {
    const c = parseOptConfig(opt350mConfigJson);
    expect(c.wordEmbedProjDim).toBe(512);
    expect(c.doLayerNormBefore).toBe(false);
    const json = configToJson(c);
    expect(json.architectures).toEqual(['OPTForCausalLM']);
    expect(json.model_type).toBe('opt');
    expect(json.torch_dtype).toBe('float16');
    expect(json.prefix).toBe('</s>');
    expect(parseOptConfig(json)).toEqual(c);
  });

  it('accepts newer transformers "dtype" in place of torch_dtype', () => {
    expect(parseOptConfig({ dtype: 'bfloat16' }).torchDtype).toBe('bfloat16');
  });

  it('builds from camelCase fields with the same checks', () => {
    const c = optConfig({ hiddenSize: 32, numAttentionHeads: 4, numHiddenLayers: 2, vocabSize: 100 });
    expect(c.ffnDim).toBe(3072);
    expect(c.wordEmbedProjDim).toBe(32);
    expect(() => optConfig({ hiddenSize: 30, numAttentionHeads: 4 })).toThrow(/hidden_size 30.*num_attention_heads 4/);
  });

  it.each([
    [{ activation_function: 'gelu' }, /activation_function "gelu" is not supported/],
    [{ hidden_size: 100, num_attention_heads: 12 }, /hidden_size 100 is not divisible by num_attention_heads 12/],
    [{ hidden_size: 0 }, /hidden_size must be a positive integer, got 0/],
    [{ num_hidden_layers: -1 }, /num_hidden_layers must be a positive integer/],
    [{ vocab_size: 10.5 }, /vocab_size must be a positive integer, got 10.5/],
    [{ ffn_dim: '4096' }, /ffn_dim must be a positive integer, got "4096"/],
    [{ do_layer_norm_before: 'yes' }, /do_layer_norm_before must be true or false/],
    [{ model_type: 'gpt2' }, /model_type "gpt2" is not supported/],
    [{ dropout: 1.5 }, /dropout must be a number in \[0, 1\)/],
    [{ tie_word_embeddings: false }, /tie_word_embeddings false is not supported/],
    [{ vocab_size: 2 }, /bos_token_id 2 is outside the vocabulary/],
  ])('refuses %j with an error naming the key', (json, message) => {
    expect(() => parseOptConfig(json, 'my/config.json')).toThrow(message);
    expect(() => parseOptConfig(json, 'my/config.json')).toThrow(/^my\/config\.json: /);
  });

  it('readOptConfig names the file on bad JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
    try {
      writeFileSync(join(dir, 'config.json'), '{"hidden_size": ');
      expect(() => readOptConfig(join(dir, 'config.json'))).toThrow(/config\.json: invalid JSON/);
      expect(() => readOptConfig(join(dir, 'missing.json'))).toThrow(/cannot read OPT config .*missing\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OPT parameter spec', () => {
  it('opt-350m has exactly 388 tensors and 331,196,416 parameters', () => {
    const spec = optParameterSpec(parseOptConfig(opt350mConfigJson));
    expect(spec.length).toBe(388);
    expect(spec.reduce((n, p) => n + elementCount(p.shape), 0)).toBe(331_196_416);
    const byName = new Map(spec.map((p) => [p.name, p]));
    expect(byName.get('model.decoder.embed_tokens.weight')!.shape).toEqual([50272, 512]);
    expect(byName.get('model.decoder.embed_positions.weight')!.shape).toEqual([2050, 1024]);
    expect(byName.get('model.decoder.project_in.weight')!.shape).toEqual([1024, 512]);
    expect(byName.get('model.decoder.project_out.weight')!.shape).toEqual([512, 1024]);
    expect(byName.has('model.decoder.final_layer_norm.weight')).toBe(false); // post-LN: none
    expect(byName.get('model.decoder.layers.23.fc1.weight')!.shape).toEqual([4096, 1024]);
    expect(byName.get('model.decoder.layers.23.fc2.weight')!.shape).toEqual([1024, 4096]);
    expect(byName.has('lm_head.weight')).toBe(false);
  });

  it('opt-125m (pre-LN, no projections) has 125,239,296 parameters in 196 tensors', () => {
    const spec = optParameterSpec(
      parseOptConfig({ hidden_size: 768, num_hidden_layers: 12, ffn_dim: 3072, num_attention_heads: 12 }),
    );
    expect(spec.length).toBe(2 + 2 + 12 * 16); // embeddings, final layer norm, 16 per layer
    expect(spec.reduce((n, p) => n + elementCount(p.shape), 0)).toBe(125_239_296);
    expect(spec.some((p) => p.name === 'model.decoder.final_layer_norm.bias')).toBe(true);
    expect(spec.some((p) => p.name.includes('project_in'))).toBe(false);
  });

  it('decay is false exactly for biases and layer norms; options drop those tensors', () => {
    const spec = optParameterSpec(optConfig({ hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, ffnDim: 16, vocabSize: 20 }));
    for (const p of spec) expect(p.decay).toBe(!(p.name.endsWith('.bias') || p.name.includes('layer_norm')));
    const bare = optParameterSpec(
      optConfig({ hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, ffnDim: 16, vocabSize: 20, enableBias: false, layerNormElementwiseAffine: false }),
    );
    expect(bare.map((p) => p.name.replace('model.decoder.', ''))).toEqual([
      'embed_tokens.weight',
      'embed_positions.weight',
      'layers.0.self_attn.k_proj.weight',
      'layers.0.self_attn.v_proj.weight',
      'layers.0.self_attn.q_proj.weight',
      'layers.0.self_attn.out_proj.weight',
      'layers.0.fc1.weight',
      'layers.0.fc2.weight',
    ]);
    const removed = optParameterSpec(optConfig({ hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, removeFinalLayerNorm: true }));
    expect(removed.some((p) => p.name === 'model.decoder.final_layer_norm.weight')).toBe(false);
  });
});
