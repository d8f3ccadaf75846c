/**
 * Byte-level mutations of a valid input, as fast-check arbitraries: bit flips, bytes overwritten
 * with values that matter to parsers (0, 0xff, quotes, brackets, digits, an invalid UTF-8 lead),
 * truncation, insertion and repetition of a slice. Positions are drawn within a region (a
 * safetensors header, a pickle) so each property aims where its loader has structure to break.
 */
import fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: readonly number[] }
  | { kind: 'repeat'; at: number; length: number; times: number };

/** Bytes that change a parser's course: NUL, 0xff, an invalid UTF-8 lead, JSON and pickle punctuation, digits. */
const interestingBytes = [0x00, 0xff, 0xc3, 0x80, 0x22, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x2d, 0x30, 0x39, 0x65, 0x0a, 0x28, 0x2e, 0x71];

/** One mutation; `at` is an index into a region whose length the apply step learns. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(...interestingBytes), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.array(fc.constantFrom(...interestingBytes), { minLength: 1, maxLength: 8 }),
      fc.constantFrom([...Buffer.from('99999999999')], [...Buffer.from('-1')], [...Buffer.from('1e308')], [...Buffer.from('[[[[[[[[')]),
    ),
  }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 64 }) }),
);

export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

/** Applies `m` to `input` with its position taken inside [start, end) of the input. */
export function applyMutation(input: Uint8Array, m: Mutation, start = 0, end = input.length): Uint8Array {
  const span = Math.max(1, end - start);
  const at = Math.min(input.length, start + (m.at % span));
  const before = input.subarray(0, at);
  switch (m.kind) {
    case 'flip': {
      const out = Uint8Array.from(input);
      if (at < out.length) out[at]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      const out = Uint8Array.from(input);
      if (at < out.length) out[at] = m.byte;
      return out;
    }
    case 'truncate':
      return Uint8Array.from(before);
    case 'insert':
      return Uint8Array.from([...before, ...m.bytes, ...input.subarray(at)]);
    case 'repeat': {
      const slice = input.subarray(at, at + m.length);
      const repeated = new Uint8Array(slice.length * m.times);
      for (let i = 0; i < m.times; i++) repeated.set(slice, i * slice.length);
      return Uint8Array.from([...before, ...repeated, ...input.subarray(at)]);
    }
  }
}

/** Applies mutations in turn; the region shrinks or grows with the input only where it must. */
export function applyMutations(input: Uint8Array, mutations: readonly Mutation[], start = 0, end = input.length): Uint8Array {
  let out = input;
  for (const m of mutations) {
    const grown = out.length - input.length;
    out = applyMutation(out, m, start, Math.max(start + 1, Math.min(out.length, end + grown)));
  }
  return out;
}
