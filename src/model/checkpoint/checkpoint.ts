/**
 * OPT checkpoints in Hugging Face's directory layout. Loading finds `model.safetensors`, a sharded
 * `model.safetensors.index.json`, or `pytorch_model.bin` (also sharded), maps the tensor names of
 * both naming schemes (`decoder.*` as in opt-350m's hub bin, `model.decoder.*` as
 * `OPTForCausalLM` saves) to the canonical names of `optParameterSpec`, widens f16/bf16 to f32,
 * and checks the whole listing against the spec before reading any tensor data. Saving writes
 * `config.json`, `model.safetensors` and the tokenizer files so that `transformers` loads the
 * directory with `from_pretrained`.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { type OptConfig, configToJson } from '../opt/optConfig.js';
import type { DType } from './dtypes.js';
import { type ParameterSpec, optParameterSpec } from '../parameterSpec.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors.js';
import { readShardIndex } from './shardIndex.js';
import { TorchBinReader, readTorchBin } from './torchBin.js';

export type CheckpointFormat = 'safetensors' | 'pytorch-bin';

export interface CheckpointListing {
  format: CheckpointFormat;
  /** Each weight file with the tensors it holds (names as stored). */
  files: { path: string; tensors: { name: string; shape: number[] }[] }[];
}

export interface LoadedTensor {
  /** Canonical name, as in optParameterSpec. */
  name: string;
  shape: number[];
  data: Float32Array;
}

const embedName = 'model.decoder.embed_tokens.weight';
const lmHeadName = 'lm_head.weight';

/**
 * Canonical name for a stored one: `decoder.x` (fairseq-converted OPT bins, opt-350m) and
 * `model.decoder.x` both become `model.decoder.x`; `lm_head.weight` is kept (it is the tied
 * embedding, checked separately); anything else is returned unchanged and will be "unexpected".
 */
export function canonicalTensorName(stored: string): string {
  return stored.startsWith('decoder.') ? `model.${stored}` : stored;
}

/** Finds the weight files in `dir` and lists their tensors (headers only, no tensor data). */
export function listCheckpoint(dir: string): CheckpointListing {
  const at = (f: string) => join(dir, f);
  if (existsSync(at('model.safetensors')) || existsSync(at('model.safetensors.index.json'))) {
    const paths = existsSync(at('model.safetensors'))
      ? [at('model.safetensors')]
      : readShardIndex(at('model.safetensors.index.json')).map(at);
    return {
      format: 'safetensors',
      files: paths.map((path) => ({ path, tensors: readSafetensorsHeader(path).entries.map(({ name, shape }) => ({ name, shape })) })),
    };
  }
  if (existsSync(at('pytorch_model.bin')) || existsSync(at('pytorch_model.bin.index.json'))) {
    const paths = existsSync(at('pytorch_model.bin'))
      ? [at('pytorch_model.bin')]
      : readShardIndex(at('pytorch_model.bin.index.json')).map(at);
    return {
      format: 'pytorch-bin',
      files: paths.map((path) => {
        const reader = TorchBinReader.open(path);
        reader.close();
        return { path, tensors: reader.tensors.map(({ name, shape }) => ({ name, shape })) };
      }),
    };
  }
  throw new Error(`${dir}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin found`);
}

function summarize(names: string[]): string {
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown} (and ${names.length - 12} more)` : shown;
}

/** Checks a listing against the config's parameter spec; all problems in one error. */
export function checkListing(dir: string, listing: CheckpointListing, config: OptConfig): void {
  checkListingAgainst(dir, listing, optParameterSpec(config), { canonical: canonicalTensorName, tiedHead: embedName, family: 'OPT' });
}

/** How an architecture names its stored tensors. */
export interface CheckpointNaming {
  /** The canonical (spec) name of a stored one. */
  canonical: (stored: string) => string;
  /** The embedding a stored `lm_head.weight` must equal (a tied head), or null when the head is its own parameter. */
  tiedHead: string | null;
  /** The family named in errors ('OPT', 'llama', ...). */
  family: string;
}

/** Checks a listing against a parameter spec: missing, unexpected, mis-shaped and duplicated tensors, all in one error. */
export function checkListingAgainst(dir: string, listing: CheckpointListing, specList: readonly ParameterSpec[], naming: CheckpointNaming): void {
  const spec = new Map(specList.map((p) => [p.name, p.shape]));
  const seen = new Map<string, string>();
  const unexpected: string[] = [];
  const mismatched: string[] = [];
  const duplicated: string[] = [];
  for (const file of listing.files) {
    for (const { name, shape } of file.tensors) {
      const canonical = naming.canonical(name);
      const want = canonical === lmHeadName && naming.tiedHead ? spec.get(naming.tiedHead) : spec.get(canonical);
      if (!want) {
        unexpected.push(name);
        continue;
      }
      if (seen.has(canonical)) duplicated.push(`${name} (also as ${seen.get(canonical)})`);
      seen.set(canonical, name);
      if (want.length !== shape.length || want.some((d, i) => d !== shape[i])) {
        mismatched.push(`${name} is [${shape}], config needs [${want}]`);
      }
    }
  }
  const missing = [...spec.keys()].filter((n) => !seen.has(n));
  const problems = [
    missing.length ? `missing ${missing.length}: ${summarize(missing)}` : '',
    unexpected.length ? `unexpected ${unexpected.length}: ${summarize(unexpected)}` : '',
    mismatched.length ? `wrong shape ${mismatched.length}: ${summarize(mismatched)}` : '',
    duplicated.length ? `duplicated ${duplicated.length}: ${summarize(duplicated)}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new Error(`${dir}: checkpoint does not match the ${naming.family} config:\n  ${problems.join('\n  ')}`);
  }
}

/** FNV-1a over the f32 bit patterns: enough to tell a tied LM head from a trained separate one. */
function fingerprint(data: Float32Array): number {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Yields the checkpoint's parameters one at a time as f32 under canonical names, so the caller can
 * upload each to the GPU before the next is read. The listing is checked against the config
 * first. A stored `lm_head.weight` is not yielded: kiln ties it to embed_tokens, and it must
 * hold the same values.
 */
export function* streamCheckpointTensors(dir: string, config: OptConfig): Generator<LoadedTensor> {
  yield* streamCheckedTensors(dir, optParameterSpec(config), { canonical: canonicalTensorName, tiedHead: embedName, family: 'OPT' });
}

/**
 * Any architecture's form of streamCheckpointTensors: the listing checked against `spec`, then the
 * tensors one at a time under canonical names. With a tied head, a stored `lm_head.weight` is
 * checked to equal the embedding and not yielded.
 */
export function* streamCheckedTensors(dir: string, spec: readonly ParameterSpec[], naming: CheckpointNaming): Generator<LoadedTensor> {
  const listing = listCheckpoint(dir);
  checkListingAgainst(dir, listing, spec, naming);
  const tied = new Map<string, number>();
  for (const file of listing.files) {
    const tensors = listing.format === 'safetensors' ? readSafetensors(file.path) : readTorchBin(file.path);
    for (const { name, shape, data } of tensors) {
      const canonical = naming.canonical(name);
      if (naming.tiedHead && (canonical === lmHeadName || canonical === naming.tiedHead)) {
        tied.set(canonical, fingerprint(data));
        if (tied.size === 2 && tied.get(lmHeadName) !== tied.get(naming.tiedHead)) {
          throw new Error(`${file.path}: ${name} differs from the token embedding, but the config ties the LM head to it`);
        }
        if (canonical === lmHeadName) continue;
      }
      yield { name: canonical, shape, data };
    }
  }
}

/** All parameters in memory, keyed by canonical name. */
export function loadCheckpointTensors(dir: string, config: OptConfig): Map<string, Float32Array> {
  const tensors = new Map<string, Float32Array>();
  for (const { name, data } of streamCheckpointTensors(dir, config)) tensors.set(name, data);
  return tensors;
}

export interface SaveCheckpointOptions {
  config: OptConfig;
  /** Every parameter of optParameterSpec(config), in memory or streamed one at a time. */
  tensors: Map<string, Float32Array> | Iterable<{ name: string; data: Float32Array }>;
  /** Stored element type of model.safetensors; f32 by default. */
  dtype?: DType;
  /** vocab.json, merges.txt, tokenizer.json, ... as Tokenizer.files() gives them. */
  tokenizerFiles?: Record<string, string | Uint8Array>;
  /** Anything else to place beside the model (training state, README). */
  extraFiles?: Record<string, string | Uint8Array>;
}

const torchDtypeNames: Record<DType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * Writes a checkpoint directory `transformers` can load. A new directory is assembled under a
 * temporary name and renamed into place; into an existing directory, every file is written to
 * `<file>.tmp` first and the files are renamed into place only once all are complete. Either way
 * no file ever appears half-written under its final name.
 */
export function saveCheckpoint(dir: string, options: SaveCheckpointOptions): void {
  const config: OptConfig = { ...options.config, torchDtype: torchDtypeNames[options.dtype ?? 'F32'] };
  writeModelDirectory(dir, { ...options, configJson: configToJson(config), spec: optParameterSpec(config) });
}

/** The stored dtype's name in config.json. */
export function torchDtypeName(dtype: DType | undefined): string {
  return torchDtypeNames[dtype ?? 'F32'];
}

/** saveCheckpoint for any architecture: its config.json content and its parameter spec. */
export function writeModelDirectory(
  dir: string,
  options: Omit<SaveCheckpointOptions, 'config'> & { configJson: Record<string, unknown>; spec: readonly ParameterSpec[] },
): void {
  const files: Record<string, string | Uint8Array> = {
    ...(options.extraFiles ?? {}),
    ...(options.tokenizerFiles ?? {}),
    'config.json': `${JSON.stringify(options.configJson, null, 2)}\n`,
  };
  for (const name of Object.keys(files)) {
    if (name === 'model.safetensors' || basename(name) !== name) throw new Error(`saveCheckpoint: invalid extra file name "${name}"`);
  }
  const fresh = !existsSync(dir);
  const target = fresh ? `${dir}.tmp-${randomBytes(4).toString('hex')}` : dir;
  const suffix = fresh ? '' : '.tmp';
  mkdirSync(target, { recursive: true });
  const written: string[] = [];
  try {
    const tensors = options.tensors instanceof Map
      ? [...options.tensors].map(([name, data]) => ({ name, data }))
      : options.tensors;
    // writeSafetensors itself writes `<path>.tmp` and renames it when complete.
    const weights = join(target, `model.safetensors${suffix}`);
    writeSafetensors(weights, options.spec, tensors, {
      dtype: options.dtype ?? 'F32',
      metadata: { format: 'pt' }, // transformers refuses safetensors files without format "pt"
    });
    written.push('model.safetensors');
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(target, `${name}${suffix}`), content);
      written.push(name);
    }
  } catch (err) {
    if (fresh) rmSync(target, { recursive: true, force: true });
    else for (const name of written) rmSync(join(target, `${name}${suffix}`), { force: true });
    throw err;
  }
  if (fresh) {
    renameSync(target, dir);
  } else {
    for (const name of written) renameSync(join(dir, `${name}.tmp`), join(dir, name));
  }
}
