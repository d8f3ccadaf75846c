/**
 * Reads a `pytorch_model.bin` written by `torch.save(model.state_dict())`: the zip container
 * (torchZip.ts) holding `<top>/data.pkl` (unpickled by torchPickle.ts) and one `<top>/data/<key>`
 * record per storage. Tensors are listed first; each is read on demand as f32 straight from its
 * storage record, so only one tensor is in memory at a time. Several tensors may share a storage
 * (views, tied weights); each reads its own slice.
 */
import { type DType, decodeToF32, dtypeByteSize } from './dtypes.js';
import { elementCount } from '../../autograd/tensor.js';
import { type TensorRef, unpickleTorch } from './torchPickle.js';
import { ZipReader } from './torchZip.js';

export interface TorchTensorEntry {
  name: string;
  /** torch dtype name of the storage ('float32', 'float16', 'bfloat16', or one kiln refuses). */
  dtype: string;
  shape: number[];
  storageKey: string;
  /** In elements. */
  storageOffset: number;
}

const kilnDtypes: Record<string, DType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

function isContiguous(shape: number[], stride: number[]): boolean {
  if (shape.length !== stride.length) return false;
  if (shape.includes(0)) return true;
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // A dimension of size 1 is never stepped over, so its stride does not matter.
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

export class TorchBinReader {
  private constructor(
    readonly path: string,
    private readonly zip: ZipReader,
    /** Path prefix of the records inside the archive (`archive/`, `pytorch_model/`, ...). */
    private readonly prefix: string,
    readonly tensors: TorchTensorEntry[],
  ) {}

  static open(path: string): TorchBinReader {
    const zip = ZipReader.open(path);
    try {
      const pickleName = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
      if (!pickleName) throw new Error(`${path}: no <dir>/data.pkl record; not a torch.save checkpoint`);
      const prefix = pickleName.slice(0, -'data.pkl'.length);
      const byteorder = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)) : 'little';
      if (byteorder !== 'little') throw new Error(`${path}: byteorder ${byteorder} is not supported`);
      const root = unpickleTorch(zip.read(pickleName), `${path}: ${pickleName}`);
      return new TorchBinReader(path, zip, prefix, listTensors(root, path));
    } catch (err) {
      zip.close();
      throw err;
    }
  }

  /** Reads one tensor as f32. */
  readF32(entry: TorchTensorEntry): Float32Array {
    const what = `${this.path}: tensor "${entry.name}"`;
    const dtype = kilnDtypes[entry.dtype];
    if (!dtype) throw new Error(`${what}: dtype ${entry.dtype} is not supported (kiln reads float32, float16, bfloat16)`);
    const record = `${this.prefix}data/${entry.storageKey}`;
    const storage = this.zip.entries.get(record);
    if (!storage) throw new Error(`${what}: storage record ${record} is missing from the archive`);
    const size = dtypeByteSize[dtype];
    const count = elementCount(entry.shape);
    const begin = entry.storageOffset * size;
    if (begin + count * size > storage.size) {
      throw new Error(`${what}: elements [${entry.storageOffset}, +${count}) run past its storage (${storage.size / size} elements)`);
    }
    if (dtype === 'F32') {
      const data = new Float32Array(count);
      this.zip.readInto(record, begin, new Uint8Array(data.buffer));
      return data;
    }
    const bytes = new Uint8Array(count * size);
    this.zip.readInto(record, begin, bytes);
    return decodeToF32(bytes, dtype);
  }

  close(): void {
    this.zip.close();
  }
}

/** The state dict's tensors, in pickle order, checked to be contiguous. */
function listTensors(root: unknown, path: string): TorchTensorEntry[] {
  if (!(root instanceof Map)) throw new Error(`${path}: the pickled object is not a state dict (a dict of tensors)`);
  const tensors: TorchTensorEntry[] = [];
  for (const [name, value] of root) {
    if (typeof name !== 'string') throw new Error(`${path}: state dict key ${String(name)} is not a string`);
    const ref = value as TensorRef;
    if (ref?.kind !== 'tensor') throw new Error(`${path}: state dict entry "${name}" is not a tensor`);
    if (!isContiguous(ref.shape, ref.stride)) {
      throw new Error(
        `${path}: tensor "${name}" is not contiguous (shape [${ref.shape}], stride [${ref.stride}]); save it with .contiguous()`,
      );
    }
    tensors.push({ name, dtype: ref.storage.dtype, shape: ref.shape, storageKey: ref.storage.key, storageOffset: ref.storageOffset });
  }
  return tensors;
}

/** Yields every tensor of a pytorch_model.bin as f32, one at a time. */
export function* readTorchBin(path: string): Generator<{ name: string; shape: number[]; data: Float32Array }> {
  const reader = TorchBinReader.open(path);
  try {
    for (const entry of reader.tensors) yield { name: entry.name, shape: entry.shape, data: reader.readF32(entry) };
  } finally {
    reader.close();
  }
}
