import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/model/checkpoint/dtypes.js';
import { TorchBinReader, readTorchBin } from '../../src/model/checkpoint/torchBin.js';
import { unpickleTorch } from '../../src/model/checkpoint/torchPickle.js';
import { PickleAssembler, stateDictPickle, storedZip, writeTorchArchive, writeTorchBin } from './torchFixture.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-torchbin-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readAll = (path: string) => [...readTorchBin(path)].map(({ name, shape, data }) => ({ name, shape, data: Array.from(data) }));

describe('pytorch_model.bin reading', () => {
  it('reads f32, f16 and bf16 tensors under any top directory, plain and zip64', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ shape: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), dtype: fc.constantFrom('float32' as const, 'float16' as const, 'bfloat16' as const), asParameter: fc.boolean() }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('archive', 'pytorch_model', 'opt-350m'),
        fc.boolean(),
        (specs, topDir, zip64) => {
          const tensors = specs.map((s, i) => {
            const n = s.shape.reduce((a, b) => a * b, 1);
            return { name: `model.decoder.t${i}.weight`, ...s, data: Float32Array.from({ length: n }, (_, j) => (j - 1.3) * (i + 0.7)) };
          });
          const path = join(dir, `prop-${run++}.bin`);
          writeTorchBin(path, tensors, { topDir, zip64 });
          const back = readAll(path);
          expect(back.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
          back.forEach((t, i) => {
            const src = tensors[i]!;
            const round = (x: number) =>
              src.dtype === 'float16' ? f16BitsToF32(f32ToF16Bits(x)) : src.dtype === 'bfloat16' ? bf16BitsToF32(f32ToBf16Bits(x)) : Math.fround(x);
            expect(t.shape).toEqual(src.shape);
            expect(t.data).toEqual(Array.from(src.data, round));
          });
          rmSync(path);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads tensors that share one storage at different offsets (views, tied weights)', () => {
    const storage = Float32Array.from({ length: 20 }, (_, i) => i);
    const pickle = stateDictPickle([
      { name: 'a', storageKey: '0', dtype: 'float32', storageNumel: 20, storageOffset: 0, shape: [4, 3] },
      { name: 'b', storageKey: '0', dtype: 'float32', storageNumel: 20, storageOffset: 12, shape: [8] },
      { name: 'c', storageKey: '0', dtype: 'float32', storageNumel: 20, storageOffset: 5, shape: [2, 1], stride: [1, 7] },
    ]);
    const path = join(dir, 'shared.bin');
    writeTorchArchive(path, 'archive', pickle, [{ name: 'archive/data/0', data: new Uint8Array(storage.buffer) }]);
    expect(readAll(path)).toEqual([
      { name: 'a', shape: [4, 3], data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
      { name: 'b', shape: [8], data: [12, 13, 14, 15, 16, 17, 18, 19] },
      { name: 'c', shape: [2, 1], data: [5, 6] },
    ]);
  });

  it('lists tensors without reading their data, then reads one on demand', () => {
    const path = join(dir, 'lazy.bin');
    writeTorchBin(path, [
      { name: 'x', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'y', shape: [1, 3], data: Float32Array.from([3, 4, 5]), dtype: 'float16' },
    ]);
    const reader = TorchBinReader.open(path);
    try {
      expect(reader.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([['x', 'float32', [2]], ['y', 'float16', [1, 3]]]);
      expect(Array.from(reader.readF32(reader.tensors[1]!))).toEqual([3, 4, 5]);
    } finally {
      reader.close();
    }
  });

  it('refuses a non-contiguous tensor, naming it', () => {
    const pickle = stateDictPickle([{ name: 'model.decoder.layers.0.fc1.weight', storageKey: '0', dtype: 'float32', storageNumel: 6, storageOffset: 0, shape: [2, 3], stride: [1, 2] }]);
    const path = join(dir, 'transposed.bin');
    writeTorchArchive(path, 'archive', pickle, [{ name: 'archive/data/0', data: new Uint8Array(24) }]);
    expect(() => TorchBinReader.open(path)).toThrow(/transposed\.bin: tensor "model\.decoder\.layers\.0\.fc1\.weight" is not contiguous \(shape \[2,3\], stride \[1,2\]\)/);
  });

  it('refuses to read an int64 tensor, naming it and its dtype', () => {
    const pickle = stateDictPickle([{ name: 'position_ids', storageKey: '0', dtype: 'int64', storageNumel: 2, storageOffset: 0, shape: [2] }]);
    const path = join(dir, 'int64.bin');
    writeTorchArchive(path, 'archive', pickle, [{ name: 'archive/data/0', data: new Uint8Array(16) }]);
    expect(() => readAll(path)).toThrow(/int64\.bin: tensor "position_ids": dtype int64 is not supported/);
  });

  it('refuses a tensor that runs past its storage, and a missing storage record', () => {
    const pickle = stateDictPickle([{ name: 'w', storageKey: '0', dtype: 'float32', storageNumel: 2, storageOffset: 1, shape: [2] }]);
    const path = join(dir, 'short.bin');
    writeTorchArchive(path, 'archive', pickle, [{ name: 'archive/data/0', data: new Uint8Array(8) }]);
    expect(() => readAll(path)).toThrow(/short\.bin: tensor "w": elements \[1, \+2\) run past its storage \(2 elements\)/);
    writeTorchArchive(path, 'archive', pickle, []);
    expect(() => readAll(path)).toThrow(/short\.bin: tensor "w": storage record archive\/data\/0 is missing/);
  });

  it('refuses the legacy format, compressed entries, truncated archives and archives without data.pkl', () => {
    const legacy = join(dir, 'legacy.bin');
    writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(() => TorchBinReader.open(legacy)).toThrow(/legacy\.bin: not a zip archive \(PyTorch's legacy pre-1\.6/);

    const compressed = storedZip([{ name: 'archive/data.pkl', data: new Uint8Array([0x2e]) }]);
    compressed.writeUInt16LE(8, 8); // local header method: deflate
    const cdStart = compressed.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    compressed.writeUInt16LE(8, cdStart + 10);
    writeFileSync(join(dir, 'deflated.bin'), compressed);
    expect(() => TorchBinReader.open(join(dir, 'deflated.bin'))).toThrow(/deflated\.bin: zip entry archive\/data\.pkl is compressed \(method 8\)/);

    const whole = storedZip([{ name: 'archive/data.pkl', data: new Uint8Array([0x2e]) }]);
    writeFileSync(join(dir, 'truncated.bin'), whole.subarray(0, whole.length - 30));
    expect(() => TorchBinReader.open(join(dir, 'truncated.bin'))).toThrow(/truncated\.bin: zip end-of-central-directory record not found/);

    writeFileSync(join(dir, 'nopkl.bin'), storedZip([{ name: 'archive/other', data: new Uint8Array(3) }]));
    expect(() => TorchBinReader.open(join(dir, 'nopkl.bin'))).toThrow(/nopkl\.bin: no <dir>\/data\.pkl record/);
  });
});

describe('restricted unpickler', () => {
  const payload = (build: (p: PickleAssembler) => PickleAssembler) => build(new PickleAssembler().proto(2)).stop().bytes();

  it.each([
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['subprocess', 'Popen'],
    ['torch', 'load'],
  ])('refuses GLOBAL %s.%s + REDUCE before running anything, naming the global and the file', (module, name) => {
    const pickle = payload((p) => p.global(module, name).unicode('echo pwned').tuple1().reduce());
    const path = join(dir, 'evil.bin');
    writeTorchArchive(path, 'archive', pickle, []);
    expect(() => TorchBinReader.open(path)).toThrow(new RegExp(`evil\\.bin: archive/data\\.pkl: pickle imports global ${module}\\.${name}, which kiln refuses to load`));
  });

  it('refuses STACK_GLOBAL (protocol 4) with a disallowed name too', () => {
    const pickle = payload((p) => p.stackGlobal('builtins', 'exec').unicode('1').tuple1().reduce());
    expect(() => unpickleTorch(pickle, 'x.pkl')).toThrow(/x\.pkl: pickle imports global builtins\.exec/);
  });

  it('refuses unknown opcodes and truncated pickles with their position', () => {
    expect(() => unpickleTorch(Uint8Array.from([0x80, 2, 0x69]), 'x.pkl')).toThrow(/x\.pkl: unsupported pickle opcode 0x69 at byte 2/);
    expect(() => unpickleTorch(Uint8Array.from([0x80, 2, 0x58, 5, 0, 0, 0, 0x61]), 'x.pkl')).toThrow(/x\.pkl: pickle ends in the middle of an opcode/);
  });

  it('interprets plain values: ints of every width, strings, lists, dicts, memo', () => {
    const p = new PickleAssembler().proto(2).emptyDict().binput();
    p.mark().unicode('small').int(7).unicode('mid').int(40000).unicode('neg').int(-5).unicode('big').int(2 ** 40).unicode('none').none();
    p.unicode('list').op(0x5d).mark().int(1).int(2).op(0x65).unicode('again').binget(0).setitems();
    const value = unpickleTorch(p.stop().bytes(), 'x.pkl') as Map<string, unknown>;
    expect(value.get('small')).toBe(7);
    expect(value.get('mid')).toBe(40000);
    expect(value.get('neg')).toBe(-5);
    expect(value.get('big')).toBe(2 ** 40);
    expect(value.get('none')).toBe(null);
    expect(value.get('list')).toEqual([1, 2]);
    expect(value.get('again')).toBe(value);
  });

  it('builds an OrderedDict from a list of pairs too', () => {
    const p = new PickleAssembler().proto(2).global('collections', 'OrderedDict').op(0x5d /* EMPTY_LIST */);
    p.mark().unicode('a').int(1).tuple2().unicode('b').int(2).tuple2().op(0x65 /* APPENDS */).tuple1().reduce();
    expect(unpickleTorch(p.stop().bytes(), 'x.pkl')).toEqual(new Map([['a', 1], ['b', 2]]));
    const bad = new PickleAssembler().proto(2).global('collections', 'OrderedDict').int(3).tuple1().reduce().stop().bytes();
    expect(() => unpickleTorch(bad, 'x.pkl')).toThrow(/x\.pkl: collections\.OrderedDict: expected no arguments or a list of pairs/);
  });

  it('reads a parameter-wrapped tensor as its data', () => {
    const path = join(dir, 'param.bin');
    writeTorchBin(path, [{ name: 'w', shape: [2], data: Float32Array.from([1, -1]), asParameter: true, dtype: 'bfloat16' }]);
    expect(readAll(path)).toEqual([{ name: 'w', shape: [2], data: [1, -1] }]);
  });
});
