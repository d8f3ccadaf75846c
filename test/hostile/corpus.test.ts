/**
 * The generated corpus (generateCorpus.ts) is fed file by file to the loader it targets, under the
 * same rules as the property tests, so the generator a person runs by hand stays in step with them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOptConfig } from '../../src/model/opt/optConfig.js';
import { readSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { readTorchBin } from '../../src/model/checkpoint/torchBin.js';
import { prepareSftData } from '../../src/train/data/prepare.js';
import { WordTokenizer } from '../train/data/wordTokenizer.js';
import { writeCorpus } from './generateCorpus.js';
import { loadOrCleanError, loadOrCleanErrorAsync } from './outcome.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-corpus-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const loaders: Record<string, (path: string) => unknown> = {
  safetensors: (path) => [...readSafetensors(path)],
  'torch-zip': (path) => [...readTorchBin(path)],
  'torch-pickle': (path) => [...readTorchBin(path)],
  config: (path) => readOptConfig(path),
};

describe('hostile corpus', () => {
  it('is written reproducibly, and every file loads or fails naming itself', async () => {
    const count = writeCorpus(dir, 12, 15);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: { path: string; loader: string }[] };
    expect(manifest.files.length).toBe(count);
    expect(new Set(manifest.files.map((f) => f.loader))).toEqual(new Set([...Object.keys(loaders), 'training-records']));
    let failures = 0;
    for (const { path: relative, loader } of manifest.files) {
      const path = join(dir, relative);
      const size = readFileSync(path).length;
      const out = loader === 'training-records'
        ? await loadOrCleanErrorAsync(() => prepareSftData({ paths: [path], tokenizer: new WordTokenizer(), maxTokens: 96, overlong: 'truncate', onBadRecord: 'fail' }), path, size)
        : loadOrCleanError(() => loaders[loader]!(path), path, size);
      if (!out.ok) failures++;
    }
    // Most mutations break something; a corpus of no-ops would test nothing.
    expect(failures).toBeGreaterThan(manifest.files.length / 3);
  });
});
