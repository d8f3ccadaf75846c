import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { f32ToBf16Bits, f32ToF16Bits, f16BitsToF32, bf16BitsToF32, type DType } from '../../src/model/checkpoint/dtypes.js';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  writeSafetensorsTensors,
  type F32Tensor,
} from '../../src/model/checkpoint/safetensors.js';
import { repoRoot } from '../helpers/shared.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-safetensors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file assembled by hand: length prefix, header text, data bytes. */
function handMade(name: string, header: string | object | Buffer, data: Uint8Array | number = 0, lengthOverride?: bigint): string {
  const headerBytes = Buffer.isBuffer(header)
    ? header
    : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(headerBytes.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, headerBytes, body]));
  return path;
}

function readAll(path: string): F32Tensor[] {
  return [...readSafetensors(path)].map(({ name, shape, data }) => ({ name, shape, data }));
}

const roundTo = (dtype: DType, x: number) =>
  dtype === 'F16' ? f16BitsToF32(f32ToF16Bits(x)) : dtype === 'BF16' ? bf16BitsToF32(f32ToBf16Bits(x)) : Math.fround(x);

const tensorList = fc.uniqueArray(
  fc.record({
    name: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__'),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.float({ noNaN: true }),
  }),
  { selector: (t) => t.name, maxLength: 6 },
);

describe('safetensors round trip', () => {
  it('reads back what it wrote, for F32, F16 and BF16, with metadata', () => {
    let run = 0;
    fc.assert(
      fc.property(tensorList, fc.constantFrom<DType>('F32', 'F16', 'BF16'), fc.dictionary(fc.string(), fc.string()), (specs, dtype, metadata) => {
        const tensors = specs.map(({ name, shape, seed }) => {
          const n = shape.reduce((a, b) => a * b, 1);
          return { name, shape, data: Float32Array.from({ length: n }, (_, i) => seed * (i + 1) - i) };
        });
        const path = join(dir, `roundtrip-${run++}.safetensors`);
        writeSafetensorsTensors(path, tensors, { dtype, metadata });
        const header = readSafetensorsHeader(path);
        expect(header.metadata).toEqual(metadata);
        expect(header.dataStart % 8).toBe(0);
        const back = new Map(readAll(path).map((t) => [t.name, t]));
        expect(back.size).toBe(tensors.length);
        for (const t of tensors) {
          const got = back.get(t.name)!;
          expect(got.shape).toEqual(t.shape);
          expect(Array.from(got.data)).toEqual(Array.from(t.data, (x) => roundTo(dtype, x)));
        }
        rmSync(path);
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips tensors named like Object.prototype members (a 10x hunt drew "__proto__")', () => {
    const path = join(dir, 'proto-names.safetensors');
    const names = ['__proto__', 'constructor', 'toString'];
    writeSafetensorsTensors(path, names.map((name, i) => ({ name, shape: [2], data: Float32Array.of(i, -i) })));
    const back = readAll(path);
    expect(back.map((t) => t.name).sort()).toEqual([...names].sort());
    for (const t of back) expect(Array.from(t.data)).toEqual([names.indexOf(t.name), -names.indexOf(t.name)]);
  });

  it('is deterministic: same tensors in any order give the same bytes, header padded with spaces', () => {
    const a = { name: 'b.weight', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const b = { name: 'a.bias', shape: [1], data: Float32Array.from([7]) };
    writeSafetensorsTensors(join(dir, 'one.safetensors'), [a, b]);
    writeSafetensorsTensors(join(dir, 'two.safetensors'), [b, a]);
    const one = readFileSync(join(dir, 'one.safetensors'));
    expect(one.equals(readFileSync(join(dir, 'two.safetensors')))).toBe(true);
    const headerLength = Number(one.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const headerText = one.subarray(8, 8 + headerLength).toString('utf8');
    expect(headerText).toMatch(/} *$/);
    expect(JSON.parse(headerText)).toEqual({
      'a.bias': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      'b.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] },
    });
  });

  it('streams tensors in any order into a declared layout, and never leaves a partial file', () => {
    const layout = [{ name: 'x', shape: [2] }, { name: 'y', shape: [3] }];
    const path = join(dir, 'streamed.safetensors');
    function* data() {
      yield { name: 'y', data: Float32Array.from([3, 4, 5]) };
      yield { name: 'x', data: Float32Array.from([1, 2]) };
    }
    writeSafetensors(path, layout, data());
    expect(readAll(path).map((t) => Array.from(t.data))).toEqual([[1, 2], [3, 4, 5]]);

    const broken = join(dir, 'broken.safetensors');
    expect(() => writeSafetensors(broken, layout, [{ name: 'x', data: new Float32Array(2) }])).toThrow(/no data given for tensors y/);
    expect(() => writeSafetensors(broken, layout, [{ name: 'x', data: new Float32Array(3) }])).toThrow(/tensor "x" has 3 elements, its shape needs 2/);
    expect(() => writeSafetensors(broken, layout, [{ name: 'z', data: new Float32Array(3) }])).toThrow(/tensor "z" is not in the layout/);
    expect(existsSync(broken)).toBe(false);
    expect(existsSync(`${broken}.tmp`)).toBe(false);
  });
});

describe('safetensors validation', () => {
  const f32 = (name: string, shape: number[], begin: number, end: number) => ({ [name]: { dtype: 'F32', shape, data_offsets: [begin, end] } });

  it.each<[string, () => string, RegExp]>([
    ['a file shorter than the length prefix', () => { const p = join(dir, 'tiny.safetensors'); writeFileSync(p, Buffer.alloc(5)); return p; }, /tiny\.safetensors: 5 bytes is too small/],
    ['a header length over 100 MB', () => handMade('huge.safetensors', '{}', 0, 100_000_001n), /huge\.safetensors: safetensors header length 100000001 exceeds the 100000000-byte limit/],
    ['a header length past the end of the file', () => handMade('long.safetensors', '{}', 0, 64n), /long\.safetensors: safetensors header length 64 runs past the end of the file/],
    ['a header that is not JSON', () => handMade('notjson.safetensors', '{"a": '), /notjson\.safetensors: safetensors header is not valid JSON/],
    ['a header that is not UTF-8', () => handMade('latin1.safetensors', Buffer.from([0x7b, 0xff, 0x7d])), /latin1\.safetensors: safetensors header is not valid UTF-8/],
    ['a header that is a list', () => handMade('list.safetensors', '[]'), /list\.safetensors: safetensors header must start with "\{"/],
    ['a header with leading spaces', () => handMade('lead.safetensors', '  {}'), /lead\.safetensors: safetensors header must start with "\{"/],
    ['metadata that is not string to string', () => handMade('meta.safetensors', { __metadata__: { format: 1 } }), /meta\.safetensors: __metadata__ "format" must be a string/],
    ['an unsupported dtype', () => handMade('i64.safetensors', { 'model.ids': { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8), /i64\.safetensors: tensor "model\.ids": dtype I64 is not supported/],
    ['a bad shape', () => handMade('shape.safetensors', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape\.safetensors: tensor "w": shape must be a list of non-negative integers/],
    ['bad data_offsets', () => handMade('offs.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /offs\.safetensors: tensor "w": data_offsets must be \[begin, end\]/],
    ['a byte range that does not match the shape', () => handMade('size.safetensors', f32('w', [2, 2], 0, 12), 12), /size\.safetensors: tensor "w": data_offsets \[0, 12\] hold 12 bytes but shape \[2,2\] of F32 needs 16/],
    ['overlapping tensors', () => handMade('overlap.safetensors', { ...f32('a', [2], 0, 8), ...f32('b', [2], 4, 12) }, 12), /overlap\.safetensors: tensor "b": data_offsets \[4, 12\] overlaps the previous tensor/],
    ['a gap between tensors', () => handMade('gap.safetensors', { ...f32('a', [1], 0, 4), ...f32('b', [1], 8, 12) }, 12), /gap\.safetensors: tensor "b": data_offsets \[8, 12\] leaves a gap after byte 4/],
    ['a tensor past the end of the data', () => handMade('past.safetensors', f32('w', [2], 0, 8), 4), /past\.safetensors: tensor "w": data_offsets \[0, 8\] run past the data region \(4 bytes\)/],
    ['trailing bytes no tensor covers', () => handMade('trailing.safetensors', f32('w', [1], 0, 4), 9), /trailing\.safetensors: tensors cover 4 bytes but the data region holds 9/],
    ['a duplicate tensor name', () => handMade('dup.safetensors', '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /dup\.safetensors: tensor "w" appears twice/],
  ])('refuses %s, naming the file and the field', (_, make, message) => {
    const path = make();
    expect(() => readSafetensorsHeader(path)).toThrow(message);
    expect(() => [...readSafetensors(path)]).toThrow(message);
  });

  it('accepts a hand-made file in the reference layout, zero-sized tensors included', () => {
    const data = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const path = handMade('ok.safetensors', { __metadata__: { format: 'pt' }, ...f32('empty', [0, 3], 0, 0), ...f32('w', [2], 0, 8) }, data);
    expect(readAll(path)).toEqual([
      { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
      { name: 'w', shape: [2], data: Float32Array.from([1.5, -2]) },
    ]);
  });
});

// A fixture written by the Python generator (scripts/make-golden-fixtures.py), when present.
const goldenModel = join(repoRoot, 'test', 'fixtures', 'golden', 'prenorm', 'model.safetensors');

describe.skipIf(!existsSync(goldenModel))('safetensors written by Python', () => {
  it('rewriting the golden model.safetensors reproduces it byte for byte', () => {
    const path = join(dir, 'rewritten.safetensors');
    writeSafetensorsTensors(path, readAll(goldenModel), { metadata: { format: 'pt' } });
    expect(readFileSync(path).equals(readFileSync(goldenModel))).toBe(true);
  });
});
