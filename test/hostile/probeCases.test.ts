/**
 * The model- and data-side cases of the hostile-input probe, one named test each (F1, F2, F3, F9
 * and the minor ones). Each failed on the code before the fix: it ran, crashed with a bare
 * JavaScript error, or changed values silently. F4 (a reused --out) needs the trainer and lives
 * in test/train/runDirectory.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoint } from '../../src/model/checkpoint/checkpoint.js';
import { parseOptConfig, readOptConfig } from '../../src/model/opt/optConfig.js';
import { resolveModelFiles } from '../../src/model/checkpoint/hub.js';
import { readTorchBin } from '../../src/model/checkpoint/torchBin.js';
import { unpickleTorch } from '../../src/model/checkpoint/torchPickle.js';
import type { ToolLlamaConversation } from '../../src/toolbench/render.js';
import { prepareSftData } from '../../src/train/data/prepare.js';
import type { TokenizerLike } from '../../src/train/data/tokenizeExample.js';
import { parseTrainerState } from '../../src/train/trainerState.js';
import { PickleAssembler, writeTorchBin } from '../model/torchFixture.js';
import { WordTokenizer } from '../train/data/wordTokenizer.js';

const work = mkdtempSync(join(tmpdir(), 'kiln-probe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let fileNo = 0;
const fresh = (name: string) => join(work, `${fileNo++}-${name}`);

const conversation = (observation: string, target = '\nThought: done\nAction: Finish\nAction Input: {}'): ToolLlamaConversation => ({
  id: 'probe',
  conversations: [
    { from: 'system', value: 'Call functions.' },
    { from: 'user', value: 'Weather in Oslo?' },
    { from: 'assistant', value: '\nThought: ask\nAction: get_weather\nAction Input: {"city": "Oslo"}' },
    { from: 'function', value: observation },
    { from: 'assistant', value: target },
  ],
});

/** A tokenizer that records the longest text it was asked to encode. */
class MeasuredTokenizer implements TokenizerLike {
  readonly inner = new WordTokenizer();
  readonly bosId = 2;
  readonly eosId = 2;
  readonly padId = 1;
  longestInput = 0;
  encodeWithOffsets(text: string) {
    this.longestInput = Math.max(this.longestInput, text.length);
    return this.inner.encodeWithOffsets(text);
  }
}

describe('F1: config.json sizes are bounded', () => {
  it.each([1e7, 1e9])('num_hidden_layers %d is refused naming the file and field, before anything is built', (layers) => {
    const path = fresh('config.json');
    writeFileSync(path, JSON.stringify({ model_type: 'opt', num_hidden_layers: layers }));
    expect(() => readOptConfig(path)).toThrow(new RegExp(`${path}: num_hidden_layers ${layers} is above kiln's limit`));
  });

  it('every size field has a bound; real configs stay well inside them', () => {
    for (const field of ['vocab_size', 'hidden_size', 'ffn_dim', 'max_position_embeddings', 'num_attention_heads', 'word_embed_proj_dim']) {
      expect(() => parseOptConfig({ [field]: 2 ** 40 }, 'c.json')).toThrow(new RegExp(`c\\.json: ${field} \\d+ is above kiln's limit`));
    }
    expect(parseOptConfig({ hidden_size: 4096, num_attention_heads: 32, num_hidden_layers: 32, ffn_dim: 16384, vocab_size: 50272 }).numHiddenLayers).toBe(32);
  });
});

describe('F2: a pytorch_model.bin with a flipped byte', () => {
  it('fails its CRC-32 check naming the entry, instead of loading a changed weight', () => {
    const path = fresh('pytorch_model.bin');
    const data = Float32Array.from({ length: 64 }, (_, i) => i / 8);
    writeTorchBin(path, [{ name: 'w', shape: [64], data }]);
    const bytes = readFileSync(path);
    // The storage record's bytes are the f32 values; flip one bit of one of them.
    const at = bytes.indexOf(Buffer.from(new Float32Array([17 / 8]).buffer));
    bytes[at + 1]! ^= 0x04;
    writeFileSync(path, bytes);
    expect(() => [...readTorchBin(path)]).toThrow(new RegExp(`${path}: zip entry archive/data/0 fails its CRC-32 check`));
  });
});

describe('F3: one enormous training record', () => {
  it('a 3 MB observation is cut without tokenizing the record whole, and the target is kept', async () => {
    const path = fresh('train.jsonl');
    const target = '\nThought: done\nAction: Finish\nAction Input: {"final_answer": "12 C"}';
    writeFileSync(path, `${JSON.stringify(conversation('{"temp": 12} '.repeat(250_000), target))}\n`);
    const tokenizer = new MeasuredTokenizer();
    const data = await prepareSftData({ paths: [path], tokenizer, maxTokens: 256, overlong: 'truncate', onBadRecord: 'fail' });
    expect(data.report.overlong.truncated).toBe(1);
    expect(data.examples[0]!.inputIds.length).toBeLessThanOrEqual(256);
    const text = tokenizer.inner.decode(data.examples[0]!.inputIds);
    expect(text).toContain(`${target}</s>`);
    expect(text).toContain('...');
    // The old pipeline encoded the whole 3 MB rendering at once; now the chunks (16k characters) and
    // the observation cut by characters (256 x 32) bound what the tokenizer sees.
    expect(tokenizer.longestInput).toBeLessThan(50_000);
  });

  it('a 1 MB target makes the record dropped, counted and estimated, never tokenized whole', async () => {
    const path = fresh('train.jsonl');
    writeFileSync(path, `${JSON.stringify(conversation('{"temp": 12}', `\nThought: ${'long '.repeat(200_000)}`))}\n`);
    const tokenizer = new MeasuredTokenizer();
    const data = await prepareSftData({ paths: [path], tokenizer, maxTokens: 256, overlong: 'truncate', onBadRecord: 'fail' });
    expect(data.report.overlong.dropped).toBe(1);
    expect(data.report.overlong.tokensDropped).toBeGreaterThan(300_000);
    expect(tokenizer.longestInput).toBeLessThan(50_000);
  });
});

describe('F9 and shard indexes: names that are not plain files', () => {
  it('a hub index naming ".." writes nothing outside the cache and names the entry', async () => {
    const index = JSON.stringify({ weight_map: { 'a.weight': '..' } });
    const server = http.createServer((req, res) => {
      if (req.url!.endsWith('/config.json')) res.writeHead(200).end('{}');
      else if (req.url!.endsWith('/model.safetensors')) res.writeHead(404).end();
      else if (req.url!.endsWith('/model.safetensors.index.json')) res.writeHead(200).end(index);
      else res.writeHead(200).end('payload');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cache = fresh('cache');
    try {
      await expect(resolveModelFiles('org/dots', { cacheDir: cache, endpoint, onProgress: () => {} })).rejects.toThrow(
        /model\.safetensors\.index\.json: weight_map "a\.weight": "\.\." is not a plain file name/,
      );
      expect(existsSync(`${cache}.part`)).toBe(false);
      expect(existsSync(join(cache, 'org--dots.part'))).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a hub index without weight_map is refused naming the field (was a bare TypeError)', async () => {
    const server = http.createServer((req, res) => {
      if (req.url!.endsWith('/config.json')) res.writeHead(200).end('{}');
      else if (req.url!.endsWith('/model.safetensors.index.json')) res.writeHead(200).end('{"metadata": {}}');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(resolveModelFiles('org/nomap', { cacheDir: fresh('cache'), endpoint, onProgress: () => {} })).rejects.toThrow(
        /model\.safetensors\.index\.json: "weight_map" is missing/,
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it.each(['..', '.', '.kiln-download.json', 'sub/model.safetensors'])('a local index naming %j is refused naming the entry (".." was a bare EISDIR)', (shard) => {
    const dir = fresh('model');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'a.weight': shard } }));
    expect(() => listCheckpoint(dir)).toThrow(/weight_map "a\.weight": .* is not a plain file name/);
  });

  it('a local index without weight_map is refused naming the field', () => {
    const dir = fresh('model');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pytorch_model.bin.index.json'), '{"metadata": {}}');
    expect(() => listCheckpoint(dir)).toThrow(/pytorch_model\.bin\.index\.json: "weight_map" is missing/);
  });
});

describe('minor cases', () => {
  it('a pickle list built by one APPENDS of 300k items loads whole (was a bare RangeError)', () => {
    const p = new PickleAssembler().proto(2).op(0x5d /* EMPTY_LIST */).mark();
    for (let i = 0; i < 300_000; i++) p.op(0x4e /* NONE */);
    const list = unpickleTorch(p.op(0x65 /* APPENDS */).stop().bytes(), 'x.bin: archive/data.pkl');
    expect((list as unknown[]).length).toBe(300_000);
  });

  it('a megabyte-long LONG4 integer loads whole (it took minutes: the digits were shifted in one by one)', () => {
    const n = 1 << 20;
    const bytes = new Uint8Array(2 + 5 + n + 1);
    bytes.set([0x80, 2, 0x8b /* LONG4 */]);
    new DataView(bytes.buffer).setUint32(3, n, true);
    bytes[7 + n - 1] = 0x01; // little-endian: the value is 256^(n-1)
    bytes[7 + n] = 0x2e; // STOP
    expect(unpickleTorch(bytes, 'x.bin: archive/data.pkl')).toBe(1n << BigInt(8 * (n - 1)));
  }, 20_000);

  it('non-UTF-8 training bytes fail naming the file and record under --on-bad-record fail, and are skipped under skip', async () => {
    const good = Buffer.from(`${JSON.stringify(conversation('{"temp": 12}'))}\n`);
    const bad = Buffer.from(`${JSON.stringify(conversation('{"temp": "XX"}'))}\n`);
    bad[bad.indexOf('XX')] = 0xff;
    const path = fresh('train.jsonl');
    writeFileSync(path, Buffer.concat([good, bad, good]));
    const options = { paths: [path], tokenizer: new WordTokenizer(), maxTokens: 512, overlong: 'truncate' as const };
    await expect(prepareSftData({ ...options, onBadRecord: 'fail' })).rejects.toThrow(/train\.jsonl line 2: invalid UTF-8 at byte \d+ of the record/);
    const skipped = await prepareSftData({ ...options, onBadRecord: 'skip' });
    expect(skipped.examples.length).toBe(2);
    expect(skipped.report.badRecords.map((b) => b.location)).toEqual([expect.stringMatching(/line 2$/)]);
  });

  it('non-UTF-8 bytes inside a JSON array element are that element\'s error', async () => {
    const text = Buffer.from(JSON.stringify([conversation('{"a": "XX"}'), conversation('{"b": 1}')]));
    text[text.indexOf('XX')] = 0xc3; // a lead byte followed by an ASCII byte
    const path = fresh('train.json');
    writeFileSync(path, text);
    const data = await prepareSftData({ paths: [path], tokenizer: new WordTokenizer(), maxTokens: 512, overlong: 'truncate', onBadRecord: 'skip' });
    expect(data.examples.length).toBe(1);
    expect(data.report.badRecords[0]).toMatchObject({ location: expect.stringMatching(/train\.json \[0\]$/), message: expect.stringMatching(/invalid UTF-8/) });
  });

  it('a trainer_state.json whose step is past its plan is refused naming the file and field', () => {
    const state = {
      format: 'kiln-trainer-state', version: 1, step: 1_000_000, totalSteps: 24, microBatchesPerEpoch: 24, stepsPerEpoch: 24,
      cursor: { epoch: 0, microBatch: 0 }, schedule: {}, rng: {}, data: {}, options: {},
    };
    expect(() => parseTrainerState(state, 'out/checkpoint-24/trainer_state.json')).toThrow(
      /out\/checkpoint-24\/trainer_state\.json: "step" 1000000 is past "totalSteps" 24/,
    );
  });
});
