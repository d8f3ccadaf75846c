/**
 * Model files from the Hugging Face Hub (or a local directory). A repo id such as
 * `facebook/opt-350m` is downloaded file by file from `<endpoint>/<id>/resolve/<revision>/<file>`
 * into a cache directory: `config.json`, the weights (`model.safetensors`, else a sharded
 * `model.safetensors.index.json`, else `pytorch_model.bin`) and whichever tokenizer files the
 * repo has. Downloads go to `<file>.part`, resume with an HTTP Range request after a cut
 * connection, are checked against the size and sha256 the hub announces for LFS files
 * (`X-Linked-Size`, `X-Linked-Etag`), and only then are renamed into place. A manifest written
 * once every file is in place marks the cache complete, which is what offline use requires.
 * Before any of that, a complete snapshot in the Hugging Face cache (hfCache.ts) is used as is.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPlainFileName, readShardIndex } from './shardIndex.js';
import { huggingFaceCacheSnapshot } from './hfCache.js';

export interface DownloadProgress {
  file: string;
  received: number;
  /** Expected size in bytes, or null when the server does not say. */
  total: number | null;
  done: boolean;
}

export interface ResolveOptions {
  /** Where downloaded repos live; default `$KILN_CACHE_DIR` or `<kiln repo>/weights`. */
  cacheDir?: string;
  /** Default `$HF_ENDPOINT` or https://huggingface.co. */
  endpoint?: string;
  revision?: string;
  /** Use only the cache (also `HF_HUB_OFFLINE=1`). */
  offline?: boolean;
  /** Re-check the hub even when the cache is complete (a failed network then falls back to it). */
  refresh?: boolean;
  /** Bearer token for gated/private repos; default `$HF_TOKEN`. Never printed. */
  token?: string;
  /** Progress callback; default draws a bar on stderr. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Fetch only the tokenizer files (no config or weights), e.g. for Tokenizer.fromPretrained. */
  tokenizerOnly?: boolean;
}

export interface ResolvedModel {
  dir: string;
  /** Files present in `dir` that this module knows about. */
  files: string[];
}

const tokenizerFileNames = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
const manifestName = '.kiln-download.json';
const attemptsPerFile = 4;

interface Manifest {
  id: string;
  revision: string;
  /** Whether config and weights were fetched too, not only the tokenizer files. */
  model: boolean;
  files: Record<string, { size: number; sha256: string | null }>;
}

/** A failure worth retrying: the transport (refused, reset, timed out, cut) or a 5xx/429 answer. */
class NetworkError extends Error {}

function defaultCacheRoot(): string {
  if (process.env.KILN_CACHE_DIR) return process.env.KILN_CACHE_DIR;
  // The kiln checkout: the nearest ancestor of this module holding package.json (src/ or dist/src/).
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'weights');
}

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, manifestName), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/**
 * The cached files, when the cache can serve this request: a manifest of the same revision whose
 * files are all in place, or (no manifest: files placed there by hand) a config and weights, or
 * for tokenizerOnly the tokenizer files. Files only ever reach their final names complete.
 */
function usableCache(dir: string, manifest: Manifest | null, id: string, revision: string, model: boolean): string[] | null {
  if (manifest) {
    if (manifest.id !== id || manifest.revision !== revision || (model && !manifest.model)) return null;
    const intact = Object.entries(manifest.files).every(([f, { size }]) => existsSync(join(dir, f)) && statSync(join(dir, f)).size === size);
    return intact ? Object.keys(manifest.files) : null;
  }
  if (!existsSync(dir)) return null;
  const files = knownFiles(dir);
  const hasTokenizer = files.includes('tokenizer.json') || (files.includes('vocab.json') && files.includes('merges.txt'));
  const hasModel = files.includes('config.json') && files.some((f) => f.startsWith('model.safetensors') || f === 'pytorch_model.bin');
  return (model ? hasModel : hasTokenizer) ? files : null;
}

function knownFiles(dir: string): string[] {
  return ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', ...tokenizerFileNames].filter(
    (f) => existsSync(join(dir, f)),
  );
}

/**
 * A local directory is returned as is; otherwise `pathOrId` is a hub repo id whose files are
 * downloaded into (or, offline, found in) the cache.
 */
export async function resolveModelFiles(pathOrId: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  if (existsSync(pathOrId) && statSync(pathOrId).isDirectory()) return { dir: resolve(pathOrId), files: knownFiles(pathOrId) };
  if (/^[./~]/.test(pathOrId)) throw new Error(`${pathOrId}: model directory not found`);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(pathOrId) || pathOrId.includes('..')) {
    throw new Error(`${pathOrId}: not a directory and not a Hugging Face repo id like "facebook/opt-350m"`);
  }
  const revision = options.revision ?? 'main';
  const hfSnapshot = options.refresh ? null : huggingFaceCacheSnapshot(pathOrId, revision, !options.tokenizerOnly);
  if (hfSnapshot) return { dir: hfSnapshot, files: knownFiles(hfSnapshot) };
  const dir = join(options.cacheDir ?? defaultCacheRoot(), pathOrId.replace('/', '--'));
  const offline = options.offline ?? process.env.HF_HUB_OFFLINE === '1';
  const manifest = readManifest(dir);
  const cached = usableCache(dir, manifest, pathOrId, revision, !options.tokenizerOnly);
  if (offline || (cached && !options.refresh)) {
    if (!cached) throw new Error(`${pathOrId}: offline and the cache at ${dir} is incomplete; download it once with network access`);
    return { dir, files: cached };
  }
  try {
    const sameRevision = manifest?.id === pathOrId && manifest.revision === revision ? manifest : null;
    const files = await downloadRepo(pathOrId, revision, dir, options, sameRevision);
    return { dir, files };
  } catch (err) {
    if (err instanceof NetworkError && cached) {
      process.stderr.write(`kiln: ${err.message}; using the cached copy in ${dir}\n`);
      return { dir, files: cached };
    }
    throw err;
  }
}

async function downloadRepo(id: string, revision: string, dir: string, options: ResolveOptions, previous: Manifest | null) {
  mkdirSync(dir, { recursive: true });
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? process.env.HF_TOKEN;
  const onProgress = options.onProgress ?? drawProgressBar;
  // A tokenizer-only fetch keeps what an earlier full download of this revision recorded.
  const model = !options.tokenizerOnly;
  const manifest: Manifest = model || !previous ? { id, revision, model, files: {} } : { ...previous, files: { ...previous.files } };
  const fetchOne = async (file: string, optional: boolean) => {
    const url = `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file}`;
    const result = await downloadFile(url, join(dir, file), file, { token, onProgress, previous: previous?.files[file] ?? null });
    if (result === 'missing') {
      if (!optional) throw new Error(`${id}: ${file} not found at ${url}`);
      return false;
    }
    manifest.files[file] = result;
    return true;
  };

  if (model) await fetchModelFiles(id, dir, fetchOne);
  for (const file of tokenizerFileNames) await fetchOne(file, true);
  writeFileSync(join(dir, `${manifestName}.tmp`), JSON.stringify(manifest, null, 2));
  renameSync(join(dir, `${manifestName}.tmp`), join(dir, manifestName));
  return Object.keys(manifest.files);
}

/** config.json, then model.safetensors, else its shards, else pytorch_model.bin. */
async function fetchModelFiles(id: string, dir: string, fetchOne: (file: string, optional: boolean) => Promise<boolean>) {
  await fetchOne('config.json', false);
  if (!(await fetchOne('model.safetensors', true))) {
    if (await fetchOne('model.safetensors.index.json', true)) {
      for (const shard of readShardIndex(join(dir, 'model.safetensors.index.json'))) await fetchOne(shard, false);
    } else if (!(await fetchOne('pytorch_model.bin', true))) {
      throw new Error(`${id}: the repo has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin`);
    }
  }
}

interface FileOptions {
  token: string | undefined;
  onProgress: (progress: DownloadProgress) => void;
  /** What an earlier download of this revision recorded for this file. */
  previous: { size: number; sha256: string | null } | null;
}

/** Downloads one file (retrying and resuming), or reports that the hub has no such file. */
async function downloadFile(url: string, dest: string, file: string, options: FileOptions) {
  const part = `${dest}.part`;
  // The one place that turns a repo's file name into a path: nothing may land outside the cache.
  checkPlainFileName(file, 'hub download');
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadAttempt(url, dest, part, file, options);
    } catch (err) {
      if (!(err instanceof NetworkError) || attempt >= attemptsPerFile) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** Sends a GET, following redirects; the token goes only to the endpoint's own host. */
function request(url: string, headers: Record<string, string>, token: string | undefined): Promise<{ response: http.IncomingMessage; linked: { size: number | null; sha256: string | null } }> {
  const origin = new URL(url).host;
  const linked = { size: null as number | null, sha256: null as string | null };
  const go = (current: string, redirects: number): Promise<http.IncomingMessage> =>
    new Promise((resolvePromise, reject) => {
      const target = new URL(current);
      const sendHeaders: Record<string, string> = { 'user-agent': 'kiln', ...headers };
      if (token && target.host === origin) sendHeaders.authorization = `Bearer ${token}`;
      const get = target.protocol === 'https:' ? https.get : http.get;
      const req = get(target, { headers: sendHeaders }, (response) => {
        // The hub's answer for an LFS file carries its size and sha256 before redirecting to storage.
        const size = Number(response.headers['x-linked-size']);
        if (Number.isSafeInteger(size) && linked.size === null) linked.size = size;
        const etag = String(response.headers['x-linked-etag'] ?? response.headers.etag ?? '').replace(/^W\//, '').replace(/"/g, '');
        if (/^[0-9a-f]{64}$/.test(etag) && linked.sha256 === null) linked.sha256 = etag;
        const status = response.statusCode ?? 0;
        if ([301, 302, 303, 307, 308].includes(status) && response.headers.location) {
          response.resume();
          if (redirects >= 10) return reject(new Error(`${url}: too many redirects`));
          return resolvePromise(go(new URL(response.headers.location, target).toString(), redirects + 1));
        }
        resolvePromise(response);
      });
      req.setTimeout(60_000, () => req.destroy(new Error('no response for 60 s')));
      req.on('error', (err) => reject(new NetworkError(`cannot reach ${new URL(url).host}: ${err.message}`)));
    });
  return go(url, 0).then((response) => ({ response, linked }));
}

async function downloadAttempt(url: string, dest: string, part: string, file: string, options: FileOptions) {
  const have = existsSync(part) ? statSync(part).size : 0;
  const { response, linked } = await request(url, have > 0 ? { range: `bytes=${have}-` } : {}, options.token);
  const status = response.statusCode ?? 0;
  if (status === 404) {
    response.resume();
    return 'missing' as const;
  }
  if (status === 416 && have > 0) {
    // The partial file is not a prefix of what the server has now: start over.
    response.resume();
    rmSync(part, { force: true });
    throw new NetworkError(`${file}: partial download does not match the server's file; restarting`);
  }
  if (status === 401 || status === 403) {
    response.resume();
    throw new Error(`${url}: HTTP ${status} (a gated or private repo needs HF_TOKEN with access)`);
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    // Server trouble and rate limits pass; they are retried (and may fall back to the cache).
    if (status >= 500 || status === 429) throw new NetworkError(`${url}: HTTP ${status}`);
    throw new Error(`${url}: HTTP ${status}`);
  }
  const resumed = status === 206;
  if (resumed && !new RegExp(`^bytes ${have}-`).test(String(response.headers['content-range'] ?? ''))) {
    response.resume();
    rmSync(part, { force: true });
    throw new NetworkError(`${file}: server resumed at the wrong offset; restarting`);
  }
  const rangeTotal = /\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''));
  const contentLength = Number(response.headers['content-length']);
  const total = linked.size ?? (rangeTotal ? Number(rangeTotal[1]) : Number.isSafeInteger(contentLength) ? contentLength + (resumed ? have : 0) : null);

  const previous = options.previous;
  const unchanged = previous !== null && previous.sha256 !== null && previous.sha256 === linked.sha256 && previous.size === total;
  if (!resumed && unchanged && existsSync(dest) && statSync(dest).size === total) {
    response.destroy(); // the cached file is this exact file already
    return previous;
  }

  let received = resumed ? have : 0;
  await new Promise<void>((resolvePromise, reject) => {
    const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      options.onProgress({ file, received, total, done: false });
    });
    response.on('error', (err) => out.destroy(err));
    response.on('aborted', () => out.destroy(new Error('connection closed')));
    response.pipe(out);
    out.on('finish', resolvePromise);
    out.on('error', (err) => reject(new NetworkError(`${file}: download interrupted after ${received} bytes (${err.message})`)));
  });
  if (total !== null && received !== total) {
    // A cut connection can look like a clean end of the body: resume from what arrived.
    throw new NetworkError(`${file}: download interrupted after ${received} of ${total} bytes`);
  }
  const sha256 = await sha256OfFile(part);
  if (linked.sha256 !== null && sha256 !== linked.sha256) {
    rmSync(part, { force: true });
    throw new Error(`${file}: sha256 ${sha256} does not match the hub's ${linked.sha256}; the download was discarded`);
  }
  renameSync(part, dest);
  options.onProgress({ file, received, total, done: true });
  return { size: received, sha256: linked.sha256 };
}

let lastDraw = 0;
/** `file [#####-----] 42% 12.0/28.6 MB` on stderr, redrawn at most ten times a second. */
function drawProgressBar({ file, received, total, done }: DownloadProgress): void {
  const now = Date.now();
  if (!done && now - lastDraw < 100) return;
  lastDraw = now;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const width = 30;
  const fraction = total ? Math.min(1, received / total) : 0;
  const bar = total ? `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '-')}] ${Math.floor(fraction * 100)}% ` : '';
  const line = `${file} ${bar}${mb(received)}${total ? `/${mb(total)}` : ''} MB`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K${done ? '\n' : ''}`);
  else if (done) process.stderr.write(`${line}\n`);
}
