import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveModelFiles, type DownloadProgress } from '../../src/model/checkpoint/hub.js';

/**
 * Two local servers in the hub's URL layout: `hub` answers `/<id>/resolve/<rev>/<file>`, directly
 * for small files and with a 302 to `cdn` (another host:port) for LFS files, announcing their
 * size and sha256 in X-Linked-Size / X-Linked-Etag as huggingface.co does. `cdn` honours Range.
 */
interface RepoFile {
  content: Buffer;
  lfs?: boolean;
  /** Announce this sha256 instead of the real one. */
  announcedSha?: string;
}

interface SeenRequest {
  server: 'hub' | 'cdn';
  path: string;
  range?: string;
  authorization?: string;
}

const repos = new Map<string, Map<string, RepoFile>>();
const seen: SeenRequest[] = [];
/** Files whose next cdn response is cut after half the body. */
const cutOnce = new Set<string>();
/** Hub paths answered once with 503 Service Unavailable. */
const unavailableOnce = new Set<string>();
let hub: http.Server;
let cdn: http.Server;
let hubUrl = '';
let cdnUrl = '';
let cache: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function listen(server: http.Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  hub = http.createServer((req, res) => {
    seen.push({ server: 'hub', path: req.url!, range: req.headers.range, authorization: req.headers.authorization });
    if (unavailableOnce.delete(req.url!)) {
      res.writeHead(503).end('busy');
      return;
    }
    const match = /^\/(.+)\/resolve\/([^/]+)\/([^/]+)$/.exec(req.url!);
    const repo = match ? repos.get(match[1]!) : undefined;
    if (match?.[1] === 'gated/model' && req.headers.authorization !== 'Bearer good-token') {
      res.writeHead(401).end('unauthorized');
      return;
    }
    const file = repo?.get(match![3]!);
    if (!file) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    if (file.lfs) {
      res.writeHead(302, {
        location: `${cdnUrl}/cdn/${match![1]}/${match![3]}`,
        'x-linked-size': String(file.content.length),
        'x-linked-etag': `"${file.announcedSha ?? sha256(file.content)}"`,
      });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': file.content.length, etag: '"0123456789abcdef0123456789abcdef01234567"' });
    res.end(file.content);
  });
  cdn = http.createServer((req, res) => {
    seen.push({ server: 'cdn', path: req.url!, range: req.headers.range, authorization: req.headers.authorization });
    const match = /^\/cdn\/(.+)\/([^/]+)$/.exec(req.url!);
    const content = repos.get(match![1]!)!.get(match![2]!)!.content;
    const start = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0;
    if (start >= content.length) {
      res.writeHead(416).end();
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-length': content.length - start };
    if (start > 0) headers['content-range'] = `bytes ${start}-${content.length - 1}/${content.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (cutOnce.delete(`${match![1]}/${match![2]}`)) {
      res.write(content.subarray(start, start + Math.floor((content.length - start) / 2)), () => res.destroy());
      return;
    }
    res.end(content.subarray(start));
  });
  hubUrl = await listen(hub);
  cdnUrl = await listen(cdn);
});

afterAll(async () => {
  await new Promise((r) => hub.close(r));
  await new Promise((r) => cdn.close(r));
});

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'kiln-hub-'));
  seen.length = 0;
  return () => rmSync(cache, { recursive: true, force: true });
});

const weights = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251));
function addRepo(id: string, files: Record<string, RepoFile>) {
  repos.set(id, new Map(Object.entries(files)));
}

const quiet = { onProgress: () => {} };

describe('hub downloads', () => {
  it('downloads config, safetensors (via redirect) and the tokenizer files the repo has', async () => {
    addRepo('facebook/tiny-opt', {
      'config.json': { content: Buffer.from('{"model_type":"opt"}') },
      'model.safetensors': { content: weights, lfs: true },
      'vocab.json': { content: Buffer.from('{}') },
      'merges.txt': { content: Buffer.from('#version: 0.2\n') },
    });
    const progress: DownloadProgress[] = [];
    const result = await resolveModelFiles('facebook/tiny-opt', { cacheDir: cache, endpoint: hubUrl, token: 'secret-token', onProgress: (p) => progress.push(p) });
    expect(result.dir).toBe(join(cache, 'facebook--tiny-opt'));
    expect(result.files.sort()).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
    expect(readFileSync(join(result.dir, 'model.safetensors')).equals(weights)).toBe(true);
    expect(readdirSync(result.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(progress.some((p) => p.file === 'model.safetensors' && p.done && p.total === weights.length)).toBe(true);
    // The token goes to the hub, never to the storage host it redirects to.
    expect(seen.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer secret-token')).toBe(true);
    expect(seen.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined)).toBe(true);
    // Optional files the repo lacks were asked for and their 404 accepted.
    expect(seen.some((r) => r.path.endsWith('/tokenizer.json'))).toBe(true);
  });

  it('resumes with a Range request after the connection is cut mid-file', async () => {
    addRepo('org/cut', { 'config.json': { content: Buffer.from('{}') }, 'model.safetensors': { content: weights, lfs: true } });
    cutOnce.add('org/cut/model.safetensors');
    const result = await resolveModelFiles('org/cut', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(readFileSync(join(result.dir, 'model.safetensors')).equals(weights)).toBe(true);
    const ranges = seen.filter((r) => r.server === 'cdn' && r.range).map((r) => r.range);
    expect(ranges.length).toBe(1);
    expect(Number(/bytes=(\d+)-/.exec(ranges[0]!)![1])).toBeGreaterThan(0);
  });

  it('retries a 503 answer', async () => {
    addRepo('org/busy', { 'config.json': { content: Buffer.from('{"busy":1}') }, 'model.safetensors': { content: weights, lfs: true } });
    unavailableOnce.add('/org/busy/resolve/main/config.json');
    const result = await resolveModelFiles('org/busy', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(readFileSync(join(result.dir, 'config.json'), 'utf8')).toBe('{"busy":1}');
    expect(seen.filter((r) => r.path === '/org/busy/resolve/main/config.json').length).toBe(2);
  });

  it('resumes a .part file left by an earlier process', async () => {
    addRepo('org/leftover', { 'config.json': { content: Buffer.from('{}') }, 'model.safetensors': { content: weights, lfs: true } });
    const dir = join(cache, 'org--leftover');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.safetensors.part'), weights.subarray(0, 1000));
    await resolveModelFiles('org/leftover', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(seen.find((r) => r.server === 'cdn')!.range).toBe('bytes=1000-');
    expect(readFileSync(join(dir, 'model.safetensors')).equals(weights)).toBe(true);
  });

  it('refuses a file whose sha256 differs from the announced one, leaving nothing under its name', async () => {
    addRepo('org/corrupt', {
      'config.json': { content: Buffer.from('{}') },
      'model.safetensors': { content: weights, lfs: true, announcedSha: 'ab'.repeat(32) },
    });
    await expect(resolveModelFiles('org/corrupt', { cacheDir: cache, endpoint: hubUrl, ...quiet })).rejects.toThrow(
      /model\.safetensors: sha256 [0-9a-f]{64} does not match the hub's abab/,
    );
    const dir = join(cache, 'org--corrupt');
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dir, 'model.safetensors.part'))).toBe(false);
    expect(existsSync(join(dir, '.kiln-download.json'))).toBe(false);
  });

  it('falls back to pytorch_model.bin, and fails clearly when config.json is missing', async () => {
    addRepo('org/bin-only', { 'config.json': { content: Buffer.from('{}') }, 'pytorch_model.bin': { content: weights, lfs: true } });
    const result = await resolveModelFiles('org/bin-only', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(result.files).toEqual(['config.json', 'pytorch_model.bin']);
    addRepo('org/no-config', { 'model.safetensors': { content: weights, lfs: true } });
    await expect(resolveModelFiles('org/no-config', { cacheDir: cache, endpoint: hubUrl, ...quiet })).rejects.toThrow(/org\/no-config: config\.json not found/);
  });

  it('downloads every shard named by model.safetensors.index.json', async () => {
    const index = { metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } };
    addRepo('org/sharded', {
      'config.json': { content: Buffer.from('{}') },
      'model.safetensors.index.json': { content: Buffer.from(JSON.stringify(index)) },
      'model-00001-of-00002.safetensors': { content: weights.subarray(0, 1000), lfs: true },
      'model-00002-of-00002.safetensors': { content: weights.subarray(1000, 3000), lfs: true },
    });
    const result = await resolveModelFiles('org/sharded', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(result.files.sort()).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
  });

  it('explains a gated repo without ever printing the token', async () => {
    addRepo('gated/model', { 'config.json': { content: Buffer.from('{}') } });
    const failure = resolveModelFiles('gated/model', { cacheDir: cache, endpoint: hubUrl, token: 'bad-token-123', ...quiet });
    await expect(failure).rejects.toThrow(/HTTP 401 \(a gated or private repo needs HF_TOKEN/);
    await failure.catch((err: Error) => expect(err.message).not.toContain('bad-token-123'));
  });
});

describe('hub cache and offline use', () => {
  it('works offline from a complete cache, and refuses an incomplete one', async () => {
    addRepo('org/offline', { 'config.json': { content: Buffer.from('{}') }, 'model.safetensors': { content: weights, lfs: true } });
    await expect(resolveModelFiles('org/offline', { cacheDir: cache, offline: true })).rejects.toThrow(/offline and the cache at .* is incomplete/);
    await resolveModelFiles('org/offline', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    const before = seen.length;
    const offline = await resolveModelFiles('org/offline', { cacheDir: cache, offline: true });
    expect(offline.files.sort()).toEqual(['config.json', 'model.safetensors']);
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await resolveModelFiles('org/offline', { cacheDir: cache, endpoint: hubUrl });
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    // A complete cache is used without asking the network, online too.
    await resolveModelFiles('org/offline', { cacheDir: cache, endpoint: hubUrl });
    expect(seen.length).toBe(before);
  });

  it('falls back to a complete cache when a refresh cannot reach the network', async () => {
    addRepo('org/refresh', { 'config.json': { content: Buffer.from('{}') }, 'model.safetensors': { content: weights, lfs: true } });
    await resolveModelFiles('org/refresh', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    const dead = http.createServer();
    const deadUrl = await listen(dead);
    await new Promise((r) => dead.close(r));
    const result = await resolveModelFiles('org/refresh', { cacheDir: cache, endpoint: deadUrl, refresh: true, ...quiet });
    expect(result.files.sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('a refresh skips LFS files whose sha256 is unchanged', async () => {
    addRepo('org/unchanged', { 'config.json': { content: Buffer.from('{}') }, 'model.safetensors': { content: weights, lfs: true } });
    await resolveModelFiles('org/unchanged', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    const path = join(cache, 'org--unchanged', 'model.safetensors');
    const before = statSync(path).mtimeMs;
    const progress: DownloadProgress[] = [];
    await resolveModelFiles('org/unchanged', { cacheDir: cache, endpoint: hubUrl, refresh: true, onProgress: (p) => progress.push(p) });
    expect(statSync(path).mtimeMs).toBe(before);
    expect(progress.some((p) => p.file === 'model.safetensors')).toBe(false);
    expect(readFileSync(path).equals(weights)).toBe(true);
  });

  it('fetches only the tokenizer files when asked, and the weights later on a full resolve', async () => {
    addRepo('org/tok', {
      'config.json': { content: Buffer.from('{}') },
      'model.safetensors': { content: weights, lfs: true },
      'vocab.json': { content: Buffer.from('{}') },
      'merges.txt': { content: Buffer.from('#version: 0.2\n') },
    });
    const tok = await resolveModelFiles('org/tok', { cacheDir: cache, endpoint: hubUrl, tokenizerOnly: true, ...quiet });
    expect(tok.files.sort()).toEqual(['merges.txt', 'vocab.json']);
    expect(seen.some((r) => /\/config\.json$|model\.safetensors/.test(r.path))).toBe(false);
    await expect(resolveModelFiles('org/tok', { cacheDir: cache, offline: true })).rejects.toThrow(/incomplete/);
    const full = await resolveModelFiles('org/tok', { cacheDir: cache, endpoint: hubUrl, ...quiet });
    expect(full.files.sort()).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
    expect((await resolveModelFiles('org/tok', { cacheDir: cache, offline: true, tokenizerOnly: true })).dir).toBe(full.dir);
  });

  it('uses a cache directory filled by hand (no manifest) when it holds a config and weights', async () => {
    const dir = join(cache, 'facebook--hand-placed');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    await expect(resolveModelFiles('facebook/hand-placed', { cacheDir: cache, offline: true })).rejects.toThrow(/incomplete/);
    writeFileSync(join(dir, 'pytorch_model.bin'), 'weights');
    const result = await resolveModelFiles('facebook/hand-placed', { cacheDir: cache, endpoint: hubUrl });
    expect(result.files).toEqual(['config.json', 'pytorch_model.bin']);
    expect(seen.length).toBe(0);
  });

  it('uses a local directory as is and rejects strings that are neither', async () => {
    const local = join(cache, 'local-model');
    mkdirSync(local);
    writeFileSync(join(local, 'config.json'), '{}');
    expect(await resolveModelFiles(local)).toEqual({ dir: local, files: ['config.json'] });
    await expect(resolveModelFiles('not a/valid/id', { cacheDir: cache })).rejects.toThrow(/not a directory and not a Hugging Face repo id/);
    await expect(resolveModelFiles('./no-such-dir', { cacheDir: cache })).rejects.toThrow(/\.\/no-such-dir: model directory not found/);
  });
});
