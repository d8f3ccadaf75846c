import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { huggingFaceCacheSnapshot } from '../../src/model/checkpoint/hfCache.js';
import { resolveModelFiles } from '../../src/model/checkpoint/hub.js';
import { repoRoot } from '../helpers/shared.js';

const home = mkdtempSync(join(tmpdir(), 'kiln-hf-home-'));
const saved = { HF_HOME: process.env.HF_HOME, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
afterAll(() => rmSync(home, { recursive: true, force: true }));
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** A snapshot laid out as huggingface_hub writes it: refs/main names the commit directory. */
function cacheRepo(id: string, commit: string, files: string): string {
  const repo = join(home, 'hub', `models--${id.replace('/', '--')}`);
  const snapshot = join(repo, 'snapshots', commit);
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), `${commit}\n`);
  cpSync(files, snapshot, { recursive: true });
  return snapshot;
}

describe('the Hugging Face cache', () => {
  it('resolves a hub id to its cached snapshot under HF_HOME before any download', async () => {
    const snapshot = cacheRepo('org/tiny-qwen2', 'a1b2c3', join(repoRoot, 'test', 'fixtures', 'golden-llama', 'qwen2-bias-pad', 'sharded'));
    process.env.HF_HOME = home;
    delete process.env.HF_HUB_CACHE;
    // No endpoint is reachable here: a download attempt would fail, so resolving proves the cache was used.
    const resolved = await resolveModelFiles('org/tiny-qwen2', { endpoint: 'http://127.0.0.1:9', cacheDir: join(home, 'kiln') });
    expect(resolved.dir).toBe(snapshot);
    expect(huggingFaceCacheSnapshot('org/tiny-qwen2', 'a1b2c3', true)).toBe(snapshot);
  });

  it('ignores an incomplete snapshot (a shard missing) and an unknown repo', () => {
    const snapshot = cacheRepo('org/broken', 'ffff', join(repoRoot, 'test', 'fixtures', 'golden-llama', 'qwen2-bias-pad', 'sharded'));
    rmSync(join(snapshot, 'model-00002-of-00003.safetensors'));
    process.env.HF_HUB_CACHE = join(home, 'hub');
    expect(huggingFaceCacheSnapshot('org/broken', 'main', true)).toBeNull();
    expect(huggingFaceCacheSnapshot('org/absent', 'main', true)).toBeNull();
  });
});
