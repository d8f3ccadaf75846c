/**
 * Property tests of the weight and config loaders on mutated valid inputs (seeded fast-check):
 * each load ends in an error naming the file or in a correct load, never a bare JavaScript error,
 * a hang, or memory out of proportion to the input (outcome.ts), and never in values that differ
 * from what the file holds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readOptConfig } from '../../src/model/opt/optConfig.js';
import { modelSizeLimits } from '../../src/model/configFields.js';
import { decodeToF32 } from '../../src/model/checkpoint/dtypes.js';
import { readSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { TorchBinReader } from '../../src/model/checkpoint/torchBin.js';
import { applyMutations, mutationsArb } from './mutations.js';
import { loadOrCleanError } from './outcome.js';
import { configSeed, safetensorsSeed, seedTensors, torchArchive, torchSeedParts } from './seeds.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function writeInput(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, `${fileNo++}-${name}`);
  writeFileSync(path, bytes);
  return path;
}

const params = (seed: number, numRuns: number) => ({ seed, numRuns });
const byName = [...seedTensors].sort((a, b) => (a.name < b.name ? -1 : 1));
const expectSeedValues = (loaded: { shape: number[]; data: Float32Array }[], expected = seedTensors) => {
  expect(loaded.map((t) => t.shape)).toEqual(expected.map((t) => t.shape));
  loaded.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(expected[i]!.data)));
};

describe('safetensors under mutation', () => {
  const seed = safetensorsSeed(dir);

  it('a mutated header gives an error naming the file, or the same tensors', () => {
    // The format has no checksum, so a changed data byte is a changed weight by design: the
    // structure (length prefix and JSON header) is what a reader can and must check.
    fc.assert(
      fc.property(mutationsArb, (mutations) => {
        const bytes = applyMutations(seed.bytes, mutations, 0, seed.headerEnd);
        const path = writeInput('model.safetensors', bytes);
        const out = loadOrCleanError(() => [...readSafetensors(path)], path, bytes.length);
        // Tensors come back in data-region order, which the writer made name order.
        if (out.ok) expectSeedValues(out.value, byName);
      }),
      params(1501, 150),
    );
  });
});

describe('pytorch_model.bin under mutation', () => {
  const { pickle, storages } = torchSeedParts();
  const archive = torchArchive(pickle, storages);

  it('a mutated zip gives an error naming the file, or the same tensors (every entry is CRC-checked)', () => {
    fc.assert(
      fc.property(mutationsArb, (mutations) => {
        const bytes = applyMutations(archive, mutations);
        const path = writeInput('pytorch_model.bin', bytes);
        const out = loadOrCleanError(() => {
          const reader = TorchBinReader.open(path);
          try {
            return reader.tensors.map((t) => ({ name: t.name, shape: t.shape, data: reader.readF32(t) }));
          } finally {
            reader.close();
          }
        }, path, bytes.length);
        if (out.ok) {
          expect(out.value.map((t) => t.name)).toEqual(seedTensors.map((t) => t.name));
          expectSeedValues(out.value);
        }
      }),
      params(1502, 200),
    );
  });

  it('a mutated pickle (with a valid CRC) gives an error naming the file, or tensors that are exactly the storage bytes it points at', () => {
    const dtypes: Record<string, 'F32' | 'F16' | 'BF16'> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
    const sizes = { F32: 4, F16: 2, BF16: 2 };
    fc.assert(
      fc.property(mutationsArb, (mutations) => {
        const bytes = torchArchive(applyMutations(pickle, mutations), storages);
        const path = writeInput('pytorch_model.bin', bytes);
        const out = loadOrCleanError(() => {
          const reader = TorchBinReader.open(path);
          try {
            return reader.tensors.map((t) => ({ entry: t, data: reader.readF32(t) }));
          } finally {
            reader.close();
          }
        }, path, bytes.length);
        if (!out.ok) return;
        for (const { entry, data } of out.value) {
          const dtype = dtypes[entry.dtype]!;
          const storage = storages.find((s) => s.name === `archive/data/${entry.storageKey}`)!.data;
          const begin = entry.storageOffset * sizes[dtype];
          expect(Array.from(data)).toEqual(Array.from(decodeToF32(storage.subarray(begin, begin + data.length * sizes[dtype]), dtype)));
        }
      }),
      params(1503, 200),
    );
  });
});

describe('config.json under mutation', () => {
  /** Interpreted keys whose value a correct load carries over unchanged. */
  const carried: [string, string][] = [
    ['vocab_size', 'vocabSize'], ['hidden_size', 'hiddenSize'], ['num_hidden_layers', 'numHiddenLayers'], ['ffn_dim', 'ffnDim'],
    ['max_position_embeddings', 'maxPositionEmbeddings'], ['num_attention_heads', 'numAttentionHeads'], ['dropout', 'dropout'],
  ];
  const sizeKeys = ['vocabSize', 'hiddenSize', 'numHiddenLayers', 'ffnDim', 'maxPositionEmbeddings', 'numAttentionHeads', 'wordEmbedProjDim'];

  const expectCorrect = (text: string, config: Record<string, unknown>) => {
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const [key, field] of carried) if (json[key] !== undefined && json[key] !== null) expect(config[field]).toBe(json[key]);
    const max = Math.max(...Object.values(modelSizeLimits));
    for (const key of sizeKeys) expect(config[key]).toBeLessThanOrEqual(max);
  };

  it('mutated text gives an error naming the file, or a config that says what the text says, within the size limits', () => {
    fc.assert(
      fc.property(mutationsArb, (mutations) => {
        const bytes = applyMutations(Buffer.from(configSeed), mutations);
        const path = writeInput('config.json', bytes);
        const out = loadOrCleanError(() => readOptConfig(path), path, bytes.length);
        if (out.ok) expectCorrect(Buffer.from(bytes).toString('utf8'), out.value as unknown as Record<string, unknown>);
      }),
      params(1504, 300),
    );
  });

  it('a hostile value in any field gives an error naming the file and the field, or is carried over', () => {
    const hostile = fc.oneof(
      fc.constantFrom(1e7, 1e9, 2 ** 53, -1, 0, 1.5, 1e308, '12', null, true, [], {}, [12]),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    );
    const fields = JSON.parse(configSeed) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(fields)), hostile, (field, value) => {
        const text = JSON.stringify({ ...fields, [field]: value });
        const path = writeInput('config.json', text);
        const out = loadOrCleanError(() => readOptConfig(path), path, text.length);
        if (out.ok) expectCorrect(text, out.value as unknown as Record<string, unknown>);
        else if (!/model_type|architectures/.test(field)) expect(out.message).toMatch(/_id|_size|_dim|layers|heads|embeddings|dropout|dtype|do_layer|is not divisible/);
      }),
      params(1505, 300),
    );
  });
});
