/**
 * The zip container of PyTorch's `torch.save` format (PyTorch >= 1.6): every record is a stored
 * (uncompressed) entry, `<top>/data.pkl` holds the pickled object and `<top>/data/<key>` the raw
 * bytes of each storage. Archives over 4 GiB use zip64 fields. Only the central directory is read
 * up front; entry bytes are read on demand with positioned reads, so a multi-GB checkpoint is
 * never loaded whole.
 *
 * Layout (PKWARE APPNOTE): local headers + data, then the central directory, then (zip64 only) the
 * zip64 end record and its locator, then the end-of-central-directory record (22 bytes + comment).
 *
 * Every entry's CRC-32 (from the central directory) is checked the first time any of its bytes are
 * read, over the whole entry, so a flipped byte inside a tensor record is an error naming the
 * entry rather than a silently changed weight.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { readExactly } from './positionedRead.js';

export interface ZipEntry {
  name: string;
  /** Compression method: 0 = stored, the only one PyTorch writes and the only one kiln reads. */
  method: number;
  size: number;
  /** CRC-32 of the entry's bytes, as the central directory records it. */
  crc32: number;
  /** Whether the bytes have been read once and matched `crc32`. */
  verified: boolean;
  localHeaderOffset: number;
  /** File offset of the entry's bytes, found from its local header when first needed. */
  dataOffset: number | null;
}

const signatures = {
  endOfCentralDirectory: 0x06054b50,
  zip64EndOfCentralDirectory: 0x06064b50,
  zip64Locator: 0x07064b50,
  centralDirectoryEntry: 0x02014b50,
  localHeader: 0x04034b50,
};

/** Bytes read at a time when checking the CRC of an entry read in slices. */
const crcChunkBytes = 4 << 20;

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function u64(view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what}: zip64 field ${value} is too large`);
  return Number(value);
}

export class ZipReader {
  readonly entries: Map<string, ZipEntry>;

  private constructor(
    readonly path: string,
    private fd: number | null,
    entries: Map<string, ZipEntry>,
  ) {
    this.entries = entries;
  }

  static open(path: string): ZipReader {
    const fd = openSync(path, 'r');
    try {
      return new ZipReader(path, fd, readCentralDirectory(fd, path));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Reads `target.byteLength` bytes of entry `name` starting `offset` bytes into the entry. */
  readInto(name: string, offset: number, target: Uint8Array): void {
    const entry = this.entry(name);
    if (offset < 0 || offset + target.byteLength > entry.size) {
      throw new Error(
        `${this.path}: bytes [${offset}, ${offset + target.byteLength}) are outside entry ${name} (${entry.size} bytes)`,
      );
    }
    const start = this.dataOffset(entry);
    readExactly(this.openFd(), target, start + offset, `${this.path}: entry ${name}`);
    if (entry.verified) return;
    // A whole-entry read checks the bytes it already holds; a slice streams the entry once.
    const crc = offset === 0 && target.byteLength === entry.size ? crc32(target) : this.streamCrc(entry, start);
    if (crc !== entry.crc32) {
      throw new Error(
        `${this.path}: zip entry ${name} fails its CRC-32 check (recorded ${hex(entry.crc32)}, computed ${hex(crc)}); the file is corrupt`,
      );
    }
    entry.verified = true;
  }

  /** The whole entry (used for the small data.pkl). */
  read(name: string): Uint8Array {
    const target = new Uint8Array(this.entry(name).size);
    this.readInto(name, 0, target);
    return target;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`${this.path}: zip archive is already closed`);
    return this.fd;
  }

  private entry(name: string): ZipEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.path}: zip archive has no entry ${name}`);
    return entry;
  }

  private streamCrc(entry: ZipEntry, start: number): number {
    const chunk = new Uint8Array(Math.min(entry.size, crcChunkBytes));
    let crc = 0;
    for (let done = 0; done < entry.size; ) {
      const piece = chunk.subarray(0, Math.min(chunk.byteLength, entry.size - done));
      readExactly(this.openFd(), piece, start + done, `${this.path}: entry ${entry.name}`);
      crc = crc32(piece, crc);
      done += piece.byteLength;
    }
    return crc;
  }

  private dataOffset(entry: ZipEntry): number {
    if (entry.dataOffset !== null) return entry.dataOffset;
    const header = new Uint8Array(30);
    readExactly(this.openFd(), header, entry.localHeaderOffset, `${this.path}: local header of ${entry.name}`);
    const view = new DataView(header.buffer);
    if (view.getUint32(0, true) !== signatures.localHeader) {
      throw new Error(`${this.path}: entry ${entry.name} has no local header at offset ${entry.localHeaderOffset}`);
    }
    // The local header's name and extra lengths may differ from the central directory's
    // (PyTorch pads the local extra field so that data is 64-byte aligned).
    entry.dataOffset = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    return entry.dataOffset;
  }
}

function readCentralDirectory(fd: number, path: string): Map<string, ZipEntry> {
  const fileSize = fstatSync(fd).size;
  const magic = new Uint8Array(4);
  if (fileSize >= 4) readExactly(fd, magic, 0, path);
  if (fileSize < 22 || new DataView(magic.buffer).getUint32(0, true) !== signatures.localHeader) {
    throw new Error(
      `${path}: not a zip archive (PyTorch's legacy pre-1.6 torch.save format is not supported; re-save with a current PyTorch or use safetensors)`,
    );
  }
  // The end record sits in the last 22 + 65535 (maximum comment) bytes; search backwards.
  const tailLength = Math.min(fileSize, 22 + 0xffff + 20);
  const tail = new Uint8Array(tailLength);
  readExactly(fd, tail, fileSize - tailLength, path);
  const tailView = new DataView(tail.buffer);
  let end = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tailView.getUint32(i, true) === signatures.endOfCentralDirectory) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error(`${path}: zip end-of-central-directory record not found (truncated file?)`);
  let count = tailView.getUint16(end + 10, true);
  let directorySize = tailView.getUint32(end + 12, true);
  let directoryOffset = tailView.getUint32(end + 16, true);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    // zip64: the locator (20 bytes) just before the end record points at the zip64 end record.
    if (end < 20 || tailView.getUint32(end - 20, true) !== signatures.zip64Locator) {
      throw new Error(`${path}: zip64 end-of-central-directory locator not found`);
    }
    const recordOffset = u64(tailView, end - 20 + 8, path);
    const record = new Uint8Array(56);
    readExactly(fd, record, recordOffset, `${path}: zip64 end record`);
    const view = new DataView(record.buffer);
    if (view.getUint32(0, true) !== signatures.zip64EndOfCentralDirectory) {
      throw new Error(`${path}: zip64 end-of-central-directory record not found at offset ${recordOffset}`);
    }
    count = u64(view, 32, path);
    directorySize = u64(view, 40, path);
    directoryOffset = u64(view, 48, path);
  }
  if (directoryOffset + directorySize > fileSize) {
    throw new Error(`${path}: zip central directory [${directoryOffset}, +${directorySize}) runs past the end of the file`);
  }
  const directory = new Uint8Array(directorySize);
  readExactly(fd, directory, directoryOffset, `${path}: zip central directory`);
  return parseCentralDirectory(directory, count, path, fileSize);
}

function parseCentralDirectory(directory: Uint8Array, count: number, path: string, fileSize: number) {
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  const decoder = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.byteLength || view.getUint32(at, true) !== signatures.centralDirectoryEntry) {
      throw new Error(`${path}: zip central directory entry ${i} is corrupt`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    if (at + 46 + nameLength + extraLength + commentLength > directory.byteLength) {
      throw new Error(`${path}: zip central directory entry ${i} runs past the directory`);
    }
    const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
    // zip64 extended information (extra field id 1): 8-byte values for exactly those of
    // size, compressed size and local header offset whose 4-byte field is 0xffffffff, in that order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (extra + 4 + length > extraEnd) throw new Error(`${path}: entry ${name}: zip extra field runs past its entry`);
      if (id === 1) {
        let field = extra + 4;
        const next = () => {
          if (field + 8 > extra + 4 + length) throw new Error(`${path}: entry ${name}: zip64 extra field is too short`);
          const value = u64(view, field, `${path}: entry ${name}`);
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      extra += 4 + length;
    }
    if (flags & 1) throw new Error(`${path}: zip entry ${name} is encrypted`);
    if (method !== 0 || compressedSize !== size) {
      throw new Error(`${path}: zip entry ${name} is compressed (method ${method}); PyTorch checkpoints store entries uncompressed`);
    }
    if (localHeaderOffset + size > fileSize) throw new Error(`${path}: zip entry ${name} runs past the end of the file`);
    entries.set(name, { name, method, size, crc32: crc, verified: false, localHeaderOffset, dataOffset: null });
    at = extraEnd + commentLength;
  }
  return entries;
}
