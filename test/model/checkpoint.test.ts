import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optConfig, readOptConfig, type OptConfig } from '../../src/model/opt/optConfig.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model/checkpoint/dtypes.js';
import { elementCount } from '../../src/autograd/tensor.js';
import { optParameterSpec } from '../../src/model/parameterSpec.js';
import { readSafetensorsHeader, writeSafetensorsTensors } from '../../src/model/checkpoint/safetensors.js';
import {
  canonicalTensorName,
  loadCheckpointTensors,
  saveCheckpoint,
  streamCheckpointTensors,
} from '../../src/model/checkpoint/checkpoint.js';
import { writeTorchBin } from './torchFixture.js';
import { repoRoot } from '../helpers/shared.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-checkpoint-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const preLn = optConfig({ vocabSize: 20, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 2, ffnDim: 16, maxPositionEmbeddings: 6 });
// opt-350m's quirks: post-LN (no final layer norm) and a narrower token embedding with projections.
const postLn350mStyle = optConfig({
  vocabSize: 20, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, ffnDim: 16, maxPositionEmbeddings: 6,
  wordEmbedProjDim: 4, doLayerNormBefore: false,
});

function randomTensors(config: OptConfig, seed = 1): Map<string, Float32Array> {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return new Map(optParameterSpec(config).map((p) => [p.name, Float32Array.from({ length: elementCount(p.shape) }, next)]));
}

const specOf = (config: OptConfig) => new Map(optParameterSpec(config).map((p) => [p.name, p.shape]));

function expectSameTensors(got: Map<string, Float32Array>, want: Map<string, Float32Array>) {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, data] of want) expect(Array.from(got.get(name)!), name).toEqual(Array.from(data));
}

describe('checkpoint save and load', () => {
  it('round-trips through model.safetensors in HF layout, with config and tokenizer files', () => {
    const tensors = randomTensors(preLn);
    const out = join(dir, 'saved');
    saveCheckpoint(out, { config: preLn, tensors, tokenizerFiles: { 'vocab.json': '{}', 'merges.txt': '#version: 0.2\n' } });
    expect(readdirSync(out).sort()).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
    const configJson = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(configJson).toMatchObject({ architectures: ['OPTForCausalLM'], model_type: 'opt', torch_dtype: 'float32', hidden_size: 8 });
    expect(readSafetensorsHeader(join(out, 'model.safetensors')).metadata).toEqual({ format: 'pt' });
    expectSameTensors(loadCheckpointTensors(out, readOptConfig(join(out, 'config.json'))), tensors);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('saves f16 when asked (torch_dtype float16), loading back widened to f32', () => {
    const tensors = randomTensors(postLn350mStyle);
    const out = join(dir, 'saved-f16');
    saveCheckpoint(out, { config: postLn350mStyle, tensors, dtype: 'F16' });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    const back = loadCheckpointTensors(out, postLn350mStyle);
    const rounded = new Map([...tensors].map(([n, d]) => [n, d.map((x) => f16BitsToF32(f32ToF16Bits(x)))]));
    expectSameTensors(back, rounded);
  });

  it('streams tensors from an iterator when saving, and yields them one at a time when loading', () => {
    const tensors = randomTensors(preLn, 7);
    const out = join(dir, 'streamed');
    function* fromGpu() {
      for (const [name, data] of tensors) yield { name, data };
    }
    saveCheckpoint(out, { config: preLn, tensors: fromGpu() });
    const stream = streamCheckpointTensors(out, preLn);
    const first = stream.next();
    expect(first.done).toBe(false);
    expect(specOf(preLn).get(first.value!.name)).toEqual(first.value!.shape);
    expect([...stream].length).toBe(tensors.size - 1);
  });

  it('replaces files in an existing directory, and a failed save leaves the old files intact', () => {
    const out = join(dir, 'existing');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'keep me');
    const first = randomTensors(preLn, 3);
    saveCheckpoint(out, { config: preLn, tensors: first });
    const incomplete = new Map(first);
    incomplete.delete('model.decoder.layers.1.fc2.bias');
    expect(() => saveCheckpoint(out, { config: preLn, tensors: incomplete, extraFiles: { 'state.json': '{}' } })).toThrow(
      /no data given for tensors model\.decoder\.layers\.1\.fc2\.bias/,
    );
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'notes.txt']);
    expectSameTensors(loadCheckpointTensors(out, preLn), first);

    const fresh = join(dir, 'never-created');
    expect(() => saveCheckpoint(fresh, { config: preLn, tensors: incomplete })).toThrow(/no data given/);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('never-created'))).toEqual([]);
  });
});

describe('checkpoint loading from other layouts', () => {
  it('maps opt-350m hub names (decoder.*) from pytorch_model.bin, f16 storage', () => {
    const tensors = randomTensors(postLn350mStyle, 5);
    const out = join(dir, 'bin-350m');
    mkdirSync(out);
    writeTorchBin(
      join(out, 'pytorch_model.bin'),
      [...tensors].map(([name, data]) => ({ name: name.replace(/^model\./, ''), shape: specOf(postLn350mStyle).get(name)!, data, dtype: 'float16' as const })),
    );
    const rounded = new Map([...tensors].map(([n, d]) => [n, d.map((x) => f16BitsToF32(f32ToF16Bits(x)))]));
    expectSameTensors(loadCheckpointTensors(out, postLn350mStyle), rounded);
    expect(canonicalTensorName('decoder.layers.0.fc1.weight')).toBe('model.decoder.layers.0.fc1.weight');
  });

  it('accepts a tied lm_head.weight and refuses one that differs from the embedding', () => {
    const tensors = randomTensors(preLn, 9);
    const shapes = specOf(preLn);
    const asBin = (lmHead: Float32Array) => [
      ...[...tensors].map(([name, data]) => ({ name, shape: shapes.get(name)!, data })),
      { name: 'lm_head.weight', shape: shapes.get('model.decoder.embed_tokens.weight')!, data: lmHead },
    ];
    const tiedDir = join(dir, 'tied');
    mkdirSync(tiedDir);
    writeTorchBin(join(tiedDir, 'pytorch_model.bin'), asBin(tensors.get('model.decoder.embed_tokens.weight')!));
    expectSameTensors(loadCheckpointTensors(tiedDir, preLn), tensors);

    const untiedDir = join(dir, 'untied');
    mkdirSync(untiedDir);
    const other = tensors.get('model.decoder.embed_tokens.weight')!.map((x) => x + 1);
    writeTorchBin(join(untiedDir, 'pytorch_model.bin'), asBin(other));
    expect(() => loadCheckpointTensors(untiedDir, preLn)).toThrow(/pytorch_model\.bin: lm_head\.weight differs from the token embedding/);
  });

  it('reads sharded safetensors through model.safetensors.index.json', () => {
    const tensors = randomTensors(preLn, 11);
    const shapes = specOf(preLn);
    const out = join(dir, 'sharded');
    mkdirSync(out);
    const names = [...tensors.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensorsTensors(join(out, file), shard.map((name) => ({ name, shape: shapes.get(name)!, data: tensors.get(name)! })));
      for (const name of shard) weightMap[name] = file;
    });
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expectSameTensors(loadCheckpointTensors(out, preLn), tensors);
  });

  it('reports missing, unexpected and wrong-shape tensors by name in one error', () => {
    const tensors = randomTensors(preLn, 13);
    const shapes = specOf(preLn);
    const out = join(dir, 'mismatch');
    mkdirSync(out);
    const list = [...tensors]
      .filter(([name]) => name !== 'model.decoder.layers.0.fc1.bias')
      .map(([name, data]) => ({ name, shape: shapes.get(name)!, data }));
    list.push({ name: 'model.decoder.extra.weight', shape: [2], data: new Float32Array(2) });
    const fc1 = list.find((t) => t.name === 'model.decoder.layers.1.fc1.weight')!;
    fc1.shape = [fc1.shape[1]!, fc1.shape[0]!];
    writeSafetensorsTensors(join(out, 'model.safetensors'), list);
    let message = '';
    try {
      loadCheckpointTensors(out, preLn);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/mismatch: checkpoint does not match the OPT config/);
    expect(message).toMatch(/missing 1: model\.decoder\.layers\.0\.fc1\.bias/);
    expect(message).toMatch(/unexpected 1: model\.decoder\.extra\.weight/);
    expect(message).toMatch(/wrong shape 1: model\.decoder\.layers\.1\.fc1\.weight is \[8,16\], config needs \[16,8\]/);
  });

  it('names the directory when it holds no weights', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => loadCheckpointTensors(empty, preLn)).toThrow(/empty: no model\.safetensors, model\.safetensors\.index\.json or pytorch_model\.bin found/);
  });
});

// Fixtures written by PyTorch (scripts/make-golden-fixtures.py), when present.
const goldenRoot = join(repoRoot, 'test', 'fixtures', 'golden');
const goldenDirs = existsSync(goldenRoot)
  ? readdirSync(goldenRoot).filter((d) => existsSync(join(goldenRoot, d, 'config.json')))
  : [];

describe.skipIf(goldenDirs.length === 0)('PyTorch-written golden checkpoints', () => {
  it.each(goldenDirs)('%s: model.safetensors, pytorch_model.bin and their f16 forms agree', (name) => {
    const d = join(goldenRoot, name);
    const config = readOptConfig(join(d, 'config.json'));
    const reference = loadCheckpointTensors(d, config); // model.safetensors takes precedence
    const alt = mkdtempSync(join(dir, `golden-${name}-`));
    for (const [file, as] of [['pytorch_model.bin', 'pytorch_model.bin'], ['model-f16.safetensors', 'model.safetensors'], ['pytorch_model-f16.bin', 'pytorch_model.bin']]) {
      if (!existsSync(join(d, file!))) continue;
      rmSync(alt, { recursive: true, force: true });
      mkdirSync(alt);
      writeFileSync(join(alt, as!), readFileSync(join(d, file!)));
      const loaded = loadCheckpointTensors(alt, config);
      const f16 = file!.includes('f16');
      for (const [tensor, data] of reference) {
        const want = f16 ? data.map((x) => f16BitsToF32(f32ToF16Bits(x))) : data;
        expect(Array.from(loaded.get(tensor)!), `${file} ${tensor}`).toEqual(Array.from(want));
      }
    }
  });
});
