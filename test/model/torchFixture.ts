/**
 * Test-only writers for PyTorch's checkpoint format, so the reader is tested without Python:
 * a pickle assembler emitting the opcodes `torch.save` emits (protocol 2), and a zip writer that
 * stores entries uncompressed with 64-byte aligned data as PyTorch's writer does, optionally
 * forcing zip64 fields.
 */
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { encodeFromF32 } from '../../src/model/checkpoint/dtypes.js';

/** Emits pickle opcodes one call at a time. */
export class PickleAssembler {
  private readonly out: number[] = [];
  private memoCount = 0;

  op(code: number, ...payload: number[]): this {
    this.out.push(code, ...payload);
    return this;
  }
  proto(n = 2) { return this.op(0x80, n); }
  mark() { return this.op(0x28); }
  stop() { return this.op(0x2e); }
  emptyDict() { return this.op(0x7d); }
  emptyTuple() { return this.op(0x29); }
  tuple() { return this.op(0x74); }
  tuple1() { return this.op(0x85); }
  tuple2() { return this.op(0x86); }
  tuple3() { return this.op(0x87); }
  reduce() { return this.op(0x52); }
  build() { return this.op(0x62); }
  setitem() { return this.op(0x73); }
  setitems() { return this.op(0x75); }
  binpersid() { return this.op(0x51); }
  newFalse() { return this.op(0x89); }
  none() { return this.op(0x4e); }
  binput() { return this.op(0x71, this.memoCount++ & 0xff); }
  binget(index: number) { return this.op(0x68, index); }
  global(module: string, name: string) {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  stackGlobal(module: string, name: string) {
    return this.unicode(module).unicode(name).op(0x93);
  }
  unicode(s: string) {
    const bytes = Buffer.from(s, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return this.op(0x58, ...length, ...bytes);
  }
  /** The smallest integer opcode, as pickle chooses it. */
  int(n: number) {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.op(0x4a, ...b);
    }
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return this.op(0x8a, 8, ...b); // LONG1
  }
  ints(values: number[]) {
    if (values.length === 0) return this.emptyTuple();
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    return values.length === 1 ? this.tuple1() : values.length === 2 ? this.tuple2() : values.length === 3 ? this.tuple3() : this.tuple();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'int64';
const storageClass: Record<TorchDtype, string> = {
  float32: 'FloatStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  int64: 'LongStorage',
};

export interface TensorRecord {
  name: string;
  storageKey: string;
  dtype: TorchDtype;
  storageNumel: number;
  storageOffset: number;
  shape: number[];
  stride?: number[];
  asParameter?: boolean;
}

function contiguousStride(shape: number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}

/**
 * data.pkl of `torch.save(OrderedDict(...))` with the records' tensors, laid out as pickle
 * protocol 2 writes it: OrderedDict() REDUCE, then MARK key value ... SETITEMS, then BUILD with
 * the `_metadata` attribute. A storage is a persistent id each time it is referenced (pickle does
 * not memoize persistent objects), so shared storages repeat their id.
 */
export function stateDictPickle(records: TensorRecord[]): Uint8Array {
  const p = new PickleAssembler();
  p.proto(2).global('collections', 'OrderedDict').binput().emptyTuple().reduce().binput().mark();
  for (const r of records) {
    p.unicode(r.name).binput();
    if (r.asParameter) p.global('torch._utils', '_rebuild_parameter').binput();
    p.global('torch._utils', '_rebuild_tensor_v2').binput().mark();
    p.mark().unicode('storage').binput().global('torch', storageClass[r.dtype]).binput();
    p.unicode(r.storageKey).binput().unicode('cpu').binput().int(r.storageNumel).tuple().binput().binpersid();
    p.int(r.storageOffset).ints(r.shape).binput().ints(r.stride ?? contiguousStride(r.shape)).binput();
    p.newFalse().global('collections', 'OrderedDict').binput().emptyTuple().reduce().binput();
    p.tuple().binput().reduce().binput();
    if (r.asParameter) {
      p.op(0x88 /* NEWTRUE */).global('collections', 'OrderedDict').emptyTuple().reduce().tuple3().reduce().binput();
    }
  }
  p.setitems();
  p.emptyDict().binput().unicode('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce();
  p.mark().unicode('').emptyDict().unicode('version').int(1).setitem().setitems().setitem().build();
  return p.stop().bytes();
}

export interface ZipOptions {
  /** Write zip64 size/offset fields and end records even though the archive is small. */
  zip64?: boolean;
}

/** A zip of stored entries with each entry's data aligned to 64 bytes, as PyTorch writes it. */
export function storedZip(entries: { name: string; data: Uint8Array }[], options: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const localFixed = 30 + nameBytes.length;
    const zip64Local = options.zip64 ? 20 : 0; // id, length, size, compressed size
    // Padding extra field (PyTorch uses id 0x4246, "FB") so data starts on a 64-byte boundary.
    const padLength = (64 - ((offset + localFixed + zip64Local + 4) % 64)) % 64;
    const extra = Buffer.alloc(zip64Local + 4 + padLength);
    if (options.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(data.length), 12);
    }
    extra.writeUInt16LE(0x4246, zip64Local);
    extra.writeUInt16LE(padLength, zip64Local + 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(options.zip64 ? 45 : 20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 18);
    local.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    parts.push(local, nameBytes, extra, Buffer.from(data));

    const centralExtra = Buffer.alloc(options.zip64 ? 28 : 0);
    if (options.zip64) {
      centralExtra.writeUInt16LE(1, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(data.length), 4);
      centralExtra.writeBigUInt64LE(BigInt(data.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(options.zip64 ? 45 : 20, 4);
    header.writeUInt16LE(options.zip64 ? 45 : 20, 6);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 20);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt16LE(centralExtra.length, 30);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    central.push(header, nameBytes, centralExtra);
    offset += local.length + nameBytes.length + extra.length + data.length;
  }
  const directory = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(options.zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, directory, ...tail, end]);
}

export interface TorchTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: Exclude<TorchDtype, 'int64'>;
  asParameter?: boolean;
}

/** Writes a pytorch_model.bin holding `tensors`, one storage each, under `topDir`. */
export function writeTorchBin(path: string, tensors: TorchTensor[], options: ZipOptions & { topDir?: string } = {}): void {
  const top = options.topDir ?? 'archive';
  const records: TensorRecord[] = [];
  const storages: { name: string; data: Uint8Array }[] = [];
  tensors.forEach((t, i) => {
    const dtype = t.dtype ?? 'float32';
    const kilnDtype = dtype === 'float32' ? 'F32' : dtype === 'float16' ? 'F16' : 'BF16';
    records.push({ name: t.name, storageKey: String(i), dtype, storageNumel: t.data.length, storageOffset: 0, shape: t.shape, asParameter: t.asParameter });
    storages.push({ name: `${top}/data/${i}`, data: encodeFromF32(t.data, kilnDtype) });
  });
  writeTorchArchive(path, top, stateDictPickle(records), storages, options);
}

/** Writes the archive records in torch.save's order: data.pkl, byteorder, storages, version. */
export function writeTorchArchive(
  path: string,
  top: string,
  pickle: Uint8Array,
  storages: { name: string; data: Uint8Array }[],
  options: ZipOptions = {},
): void {
  const entries = [
    { name: `${top}/data.pkl`, data: pickle },
    { name: `${top}/byteorder`, data: Buffer.from('little') },
    ...storages,
    { name: `${top}/version`, data: Buffer.from('3\n') },
  ];
  writeFileSync(path, storedZip(entries, options));
}
