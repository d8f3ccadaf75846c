import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { optSpecialTokens, trainByteLevelBpe } from '../../src/model/tokenizer/bpeTrainer.js';
import { saveCheckpoint } from '../../src/model/checkpoint/checkpoint.js';
import { optConfig } from '../../src/model/opt/optConfig.js';
import { optParameterSpec } from '../../src/model/parameterSpec.js';
import { initialValues } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { renderConversation, type ToolLlamaConversation } from '../../src/toolbench/render.js';

const CITIES = ['Oslo', 'Lima', 'Pune', 'Kyiv', 'Riga', 'Doha', 'Baku', 'Suva', 'Apia', 'Male', 'Bern', 'Rome'];

/** Short ToolLLaMA conversations with one call and a Finish each, of varying lengths. */
export function tinyConversations(n: number): ToolLlamaConversation[] {
  return Array.from({ length: n }, (_, i) => {
    const city = CITIES[i % CITIES.length]!;
    const temp = (i * 7) % 40;
    return {
      id: `tiny ${i}`,
      conversations: [
        { from: 'system', value: 'Call functions. Tools: weather.' },
        { from: 'user', value: `Weather in ${city}${' please'.repeat(i % 4)}?` },
        { from: 'assistant', value: `\nThought: ask\nAction: get_weather\nAction Input: {"city": "${city}"}` },
        { from: 'function', value: `{"temp": ${temp}}` },
        { from: 'assistant', value: `\nThought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "${temp} C"}` },
      ],
    };
  });
}

/**
 * A tiny OPT (random init, written on the host, no GPU needed), its BPE tokenizer and a data file,
 * under `dir`: `{ modelDir, dataPath }`.
 */
export function writeTinyRun(dir: string, options: { conversations?: number; dropout?: number; seed?: number } = {}): { modelDir: string; dataPath: string } {
  const conversations = tinyConversations(options.conversations ?? 24);
  mkdirSync(dir, { recursive: true });
  const dataPath = join(dir, 'train.json');
  writeFileSync(dataPath, JSON.stringify(conversations));
  const texts = conversations.map((c) => renderConversation(c, { lossOn: 'all' }).text.replaceAll('</s>', ''));
  const modelDir = writeTinyOpt(join(dir, 'init'), texts, { vocabSize: 330, positions: 128, dropout: options.dropout ?? 0.1, seed: options.seed ?? 3 });
  return { modelDir, dataPath };
}

/** A tiny OPT (random init, written on the host) and a BPE tokenizer trained on `texts`, in Hugging Face's layout at `modelDir`. */
export function writeTinyOpt(
  modelDir: string,
  texts: readonly string[],
  o: { vocabSize: number; positions: number; dropout: number; seed: number },
): string {
  const bpe = trainByteLevelBpe(texts, { vocabSize: o.vocabSize, specialTokens: optSpecialTokens });
  const tokenizer = Tokenizer.fromVocabAndMerges(bpe.vocabJson, bpe.mergesTxt);
  const config = optConfig({
    vocabSize: Math.ceil(tokenizer.vocabSize / 8) * 8,
    hiddenSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    ffnDim: 64,
    maxPositionEmbeddings: o.positions,
    dropout: o.dropout,
  });
  const rng = new SeededRandom(o.seed);
  saveCheckpoint(modelDir, {
    config,
    tensors: optParameterSpec(config).map((spec) => ({ name: spec.name, data: initialValues(spec, config, rng) })),
    tokenizerFiles: tokenizer.files(),
  });
  return modelDir;
}
