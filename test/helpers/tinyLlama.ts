import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeModelDirectory } from '../../src/model/checkpoint/checkpoint.js';
import { parseLlamaConfig } from '../../src/model/llama/llamaConfig.js';
import { llamaInitialValues, llamaParameterSpec } from '../../src/model/llama/llamaParameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { repoRoot } from './shared.js';

/**
 * A random tiny Llama (GQA, tied head) with the chat fixture's tokenizer and template
 * (test/fixtures/golden-llama/chat), written to `dir` as a Hugging Face checkpoint; returns `dir`.
 */
export function writeTinyLlama(dir: string): string {
  const chat = join(repoRoot, 'test', 'fixtures', 'golden-llama', 'chat');
  const tokenizerFiles = { 'tokenizer.json': readFileSync(join(chat, 'tokenizer.json'), 'utf8'), 'tokenizer_config.json': readFileSync(join(chat, 'tokenizer_config.json'), 'utf8') };
  const tokenizer = Tokenizer.fromFiles(tokenizerFiles);
  const config = parseLlamaConfig({
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: tokenizer.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
    torch_dtype: 'float32',
  });
  const rng = new SeededRandom(5);
  const spec = llamaParameterSpec(config);
  writeModelDirectory(dir, {
    configJson: config.json,
    spec,
    tensors: spec.map((s) => ({ name: s.name, data: llamaInitialValues(s, { ...config, initializerRange: 0.1 }, rng) })),
    tokenizerFiles,
  });
  return dir;
}
