// Loads each golden Llama-family fixture with kiln and saves it under <out>/<name>, for
// scripts/check-llama-save.py to load back with transformers. Run after `npm run build`.
import { join } from 'node:path';
import { LlamaForCausalLM } from '../dist/src/model/llama/llama.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/save-llama-fixtures.mjs <out dir>');
  process.exit(2);
}
for (const name of ['llama-gqa-tied', 'qwen2-bias-pad', 'qwen3-qknorm']) {
  const model = await LlamaForCausalLM.fromPretrained(join('test', 'fixtures', 'golden-llama', name));
  for (const dtype of ['F32', 'BF16']) await model.save(join(out, `${name}-${dtype.toLowerCase()}`), { dtype });
  model.dispose();
  console.log(`saved ${name}`);
}
