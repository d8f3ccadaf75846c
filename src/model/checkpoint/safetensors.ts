/**
 * The safetensors format (huggingface/safetensors): 8-byte little-endian header length N, N bytes
 * of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the data region. Validation follows the reference implementation: header length bounded
 * (100 MB, and within the file), `__metadata__` string to string, each tensor's byte range equal
 * to shape x dtype size, and the ranges contiguous, non-overlapping and covering the data region
 * exactly. kiln accepts F32, F16 and BF16 tensors only.
 *
 * Reading returns f32 one tensor at a time with positioned reads, so a large checkpoint is never
 * held twice in memory; writing goes to `<path>.tmp` and is renamed into place when complete.
 */
import { closeSync, fsyncSync, openSync, fstatSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type DType, decodeToF32, dtypeByteSize, encodeFromF32, isDType } from './dtypes.js';
import { elementCount } from '../../autograd/tensor.js';
import { readExactly } from './positionedRead.js';

/** The reference implementation's cap on the JSON header. */
export const maxHeaderBytes = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range relative to the start of the data region. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  /** File offset of the data region (8 + header length). */
  dataStart: number;
  /** Tensors in file order (ascending offsets). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

export interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Keys of the outermost JSON object in source order, duplicates included (JSON.parse drops them). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(text[j] ?? '')) j++;
      if (text[j] === ':') keys.push(JSON.parse(text.slice(start, i + 1)) as string);
    }
  }
  return keys;
}

function isNonNegativeInt(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

/** Validates a parsed header against the size of the data region; returns entries in file order. */
function validateHeader(path: string, json: Record<string, unknown>, headerText: string, dataBytes: number) {
  const seen = new Set<string>();
  for (const key of topLevelKeys(headerText)) {
    if (seen.has(key)) throw new Error(`${path}: tensor "${key}" appears twice in the safetensors header`);
    seen.add(key);
  }
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        throw new Error(`${path}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new Error(`${path}: __metadata__ "${k}" must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `${path}: tensor "${name}"`;
    if (typeof info !== 'object' || info === null) throw new Error(`${where}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') throw new Error(`${where}: dtype is missing`);
    if (!isDType(dtype)) throw new Error(`${where}: dtype ${dtype} is not supported (kiln reads F32, F16, BF16)`);
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
      throw new Error(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
      throw new Error(`${where}: data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape) * dtypeByteSize[dtype];
    if (!Number.isSafeInteger(expected)) throw new Error(`${where}: shape ${JSON.stringify(shape)} is too large`);
    if (end < begin || end - begin !== expected) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // Sorted by offsets, each range must start where the previous one ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  for (const e of entries) {
    if (e.begin !== position) {
      const problem = e.begin < position ? 'overlaps the previous tensor' : `leaves a gap after byte ${position}`;
      throw new Error(`${path}: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] ${problem}`);
    }
    if (e.end > dataBytes) {
      throw new Error(`${path}: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] run past the data region (${dataBytes} bytes)`);
    }
    position = e.end;
  }
  if (position !== dataBytes) {
    throw new Error(`${path}: tensors cover ${position} bytes but the data region holds ${dataBytes}`);
  }
  return { entries, metadata };
}

function readHeaderFromFd(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new Error(`${path}: ${fileSize} bytes is too small for a safetensors file`);
  const prefix = new Uint8Array(8);
  readExactly(fd, prefix, 0, path);
  const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw new Error(`${path}: safetensors header length ${headerLength} exceeds the ${maxHeaderBytes}-byte limit`);
  }
  const n = Number(headerLength);
  if (8 + n > fileSize) {
    throw new Error(`${path}: safetensors header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  const headerBytes = new Uint8Array(n);
  readExactly(fd, headerBytes, 8, path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${path}: safetensors header is not valid UTF-8`);
  }
  // As the reference reader: the JSON object must start the header (padding only trails it).
  if (!text.startsWith('{')) throw new Error(`${path}: safetensors header must start with "{"`);
  let json: Record<string, unknown>; // an object: the text starts with "{" and parses
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: safetensors header is not valid JSON: ${(err as Error).message}`);
  }
  const { entries, metadata } = validateHeader(path, json, text, fileSize - 8 - n);
  return { path, dataStart: 8 + n, entries, metadata };
}

/** Reads and validates the header only (names, dtypes, shapes), without touching tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return readHeaderFromFd(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor's bytes into a fresh buffer and widens it to f32. */
function readEntryAsF32(fd: number, header: SafetensorsHeader, entry: SafetensorsEntry): Float32Array {
  const length = entry.end - entry.begin;
  const what = `${header.path}: tensor "${entry.name}"`;
  if (entry.dtype === 'F32') {
    const data = new Float32Array(length / 4);
    readExactly(fd, new Uint8Array(data.buffer), header.dataStart + entry.begin, what);
    return data;
  }
  const bytes = new Uint8Array(length);
  readExactly(fd, bytes, header.dataStart + entry.begin, what);
  return decodeToF32(bytes, entry.dtype);
}

/**
 * Yields the file's tensors as f32, one at a time in file order; only the tensor being yielded is
 * held in memory. The header is validated before any tensor is read.
 */
export function* readSafetensors(path: string): Generator<F32Tensor & { dtype: DType }> {
  const fd = openSync(path, 'r');
  try {
    const header = readHeaderFromFd(fd, path);
    for (const entry of header.entries) {
      yield { name: entry.name, shape: entry.shape, dtype: entry.dtype, data: readEntryAsF32(fd, header, entry) };
    }
  } finally {
    closeSync(fd);
  }
}

export interface SafetensorsWriteOptions {
  /** Stored element type; f32 by default. */
  dtype?: DType;
  metadata?: Record<string, string>;
}

/**
 * Writes tensors whose names and shapes are given up front by `layout`; `tensors` may then
 * arrive in any order (e.g. streamed back from the GPU one at a time) and each is written at its
 * offset. Layout is sorted by name, so the same tensors always give the same bytes. The header is
 * padded with spaces to a multiple of 8 bytes, as the reference writer does, so the data region
 * is 8-byte aligned.
 */
export function writeSafetensors(
  path: string,
  layout: ReadonlyArray<{ name: string; shape: readonly number[] }>,
  tensors: Iterable<{ name: string; data: Float32Array }>,
  options: SafetensorsWriteOptions = {},
): void {
  const dtype = options.dtype ?? 'F32';
  const sorted = [...layout].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // No prototype: a tensor may be named "__proto__", which on a plain object would set the
  // prototype instead of adding an entry (and vanish from the JSON).
  const header = Object.create(null) as Record<string, unknown>;
  if (options.metadata) header.__metadata__ = options.metadata;
  const offsets = new Map<string, { begin: number; count: number }>();
  let position = 0;
  for (const { name, shape } of sorted) {
    if (name === '__metadata__' || offsets.has(name)) throw new Error(`${path}: tensor name "${name}" is reserved or repeated`);
    const count = elementCount(shape);
    const end = position + count * dtypeByteSize[dtype];
    header[name] = { dtype, shape: [...shape], data_offsets: [position, end] };
    offsets.set(name, { begin: position, count });
    position = end;
  }
  let headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  headerBytes = Buffer.concat([headerBytes, Buffer.alloc(padded - headerBytes.length, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  const dataStart = 8 + headerBytes.length;

  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    writeSync(fd, prefix, 0, 8, 0);
    writeSync(fd, headerBytes, 0, headerBytes.length, 8);
    const written = new Set<string>();
    for (const { name, data } of tensors) {
      const slot = offsets.get(name);
      if (!slot) throw new Error(`${path}: tensor "${name}" is not in the layout`);
      if (written.has(name)) throw new Error(`${path}: tensor "${name}" was given twice`);
      if (data.length !== slot.count) {
        throw new Error(`${path}: tensor "${name}" has ${data.length} elements, its shape needs ${slot.count}`);
      }
      const bytes = encodeFromF32(data, dtype);
      let done = 0;
      while (done < bytes.byteLength) {
        done += writeSync(fd, bytes, done, bytes.byteLength - done, dataStart + slot.begin + done);
      }
      written.add(name);
    }
    const missing = sorted.filter((t) => !written.has(t.name)).map((t) => t.name);
    if (missing.length > 0) throw new Error(`${path}: no data given for tensors ${missing.join(', ')}`);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  renameSync(tmp, path);
}

/** Convenience form of writeSafetensors for tensors already in memory. */
export function writeSafetensorsTensors(path: string, tensors: readonly F32Tensor[], options: SafetensorsWriteOptions = {}): void {
  writeSafetensors(path, tensors, tensors, options);
}
