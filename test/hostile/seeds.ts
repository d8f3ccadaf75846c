/**
 * The valid inputs the hostile corpus starts from, built here (nothing binary is committed): a
 * small safetensors file, a torch.save zip with its pickle, an OPT config.json, and training data
 * in the three source forms. Each comes with what a correct load must give back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensorsTensors } from '../../src/model/checkpoint/safetensors.js';
import type { ToolLlamaConversation } from '../../src/toolbench/render.js';
import { type TorchTensor, stateDictPickle, storedZip } from '../model/torchFixture.js';

export interface SeedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export const seedTensors: SeedTensor[] = [
  { name: 'model.decoder.embed_tokens.weight', shape: [6, 4], data: Float32Array.from({ length: 24 }, (_, i) => (i - 11) / 7) },
  { name: 'model.decoder.layers.0.fc1.bias', shape: [5], data: Float32Array.from([1.5, -2, 0, 3.25, 1e-3]) },
  { name: 'model.decoder.final_layer_norm.weight', shape: [4], data: Float32Array.from([1, 1, 0.5, 2]) },
];

/** A safetensors file of `seedTensors`, and where its header ends (8 + header length). */
export function safetensorsSeed(scratchDir: string): { bytes: Uint8Array; headerEnd: number } {
  const path = join(scratchDir, 'seed.safetensors');
  writeSafetensorsTensors(path, seedTensors, { metadata: { format: 'pt' } });
  const bytes = new Uint8Array(readFileSync(path));
  return { bytes, headerEnd: 8 + Number(Buffer.from(bytes).readBigUInt64LE(0)) };
}

/** The pickle and storage records of a torch.save of `seedTensors` (f32, one storage each). */
export function torchSeedParts(): { pickle: Uint8Array; storages: { name: string; data: Uint8Array }[] } {
  const tensors: TorchTensor[] = seedTensors.map((t) => ({ ...t, asParameter: t.shape.length === 1 }));
  const pickle = stateDictPickle(
    tensors.map((t, i) => ({ name: t.name, storageKey: String(i), dtype: 'float32', storageNumel: t.data.length, storageOffset: 0, shape: t.shape, asParameter: t.asParameter })),
  );
  const storages = tensors.map((t, i) => ({ name: `archive/data/${i}`, data: new Uint8Array(t.data.buffer.slice(0)) }));
  return { pickle, storages };
}

/** A pytorch_model.bin holding `pickle` (valid or not) and the seed's storages, with correct CRCs. */
export function torchArchive(pickle: Uint8Array, storages = torchSeedParts().storages): Uint8Array {
  return storedZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...storages,
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/** A small OPT config.json (pre-LN, tied head) as its text. */
export const configSeed = `${JSON.stringify(
  {
    model_type: 'opt',
    architectures: ['OPTForCausalLM'],
    vocab_size: 64,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    ffn_dim: 32,
    max_position_embeddings: 128,
    word_embed_proj_dim: 16,
    do_layer_norm_before: true,
    dropout: 0.1,
    pad_token_id: 1,
    bos_token_id: 2,
    eos_token_id: 2,
    torch_dtype: 'float32',
  },
  null,
  2,
)}\n`;

const conversation = (i: number): ToolLlamaConversation => ({
  id: `seed ${i}`,
  conversations: [
    { from: 'system', value: 'Call functions. Tools: weather.' },
    { from: 'user', value: `Weather in city ${i}, «today»?` },
    { from: 'assistant', value: `\nThought: ask\nAction: get_weather\nAction Input: {"city": "c${i}"}` },
    { from: 'function', value: `{"temp": ${i * 3}, "note": "dry ☀"}` },
    { from: 'assistant', value: `\nThought: done\nAction: Finish\nAction Input: {"final_answer": "${i * 3} C"}` },
  ],
});

/** Training data in each source form, with the conversations a correct load gives. */
export function trainingSeeds(): { name: string; text: string; conversations: ToolLlamaConversation[] }[] {
  const convs = [0, 1, 2, 3].map(conversation);
  const chat = convs.map((c) => ({
    messages: c.conversations.map((t) => ({ role: t.from === 'function' ? 'tool' : t.from, content: t.value })),
    id: c.id,
  }));
  return [
    { name: 'toolllama.jsonl', text: convs.map((c) => JSON.stringify(c)).join('\n'), conversations: convs },
    { name: 'toolllama.json', text: JSON.stringify(convs, null, 1), conversations: convs },
    { name: 'chat.jsonl', text: chat.map((c) => JSON.stringify(c)).join('\n'), conversations: convs },
  ];
}
