/**
 * A small deterministic random source: a string is hashed (FNV-1a, 64-bit, then splitmix64's
 * finaliser) into a seed for a splitmix64 stream. The offline simulator draws every reply from one
 * of these, seeded by (query id, API, canonical arguments), so a reply depends on nothing else.
 */

const MASK64 = (1n << 64n) - 1n;

export class TextSeededRandom {
  private state: bigint;

  constructor(seedText: string) {
    this.state = hashString(seedText);
  }

  /** The next 64 random bits (splitmix64). */
  private nextBits(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    return mix64(this.state);
  }

  /** A float in [0, 1) with 53 random bits. */
  next(): number {
    return Number(this.nextBits() >> 11n) / 2 ** 53;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('TextSeededRandom.pick: empty list');
    return items[this.int(0, items.length - 1)]!;
  }
}

/** FNV-1a over the UTF-8 bytes, finished with splitmix64's mixer so nearby strings spread apart. */
export function hashString(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return mix64(h);
}

function mix64(x: bigint): bigint {
  let z = x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** JSON with object keys sorted at every level: equal argument sets give equal seeds. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
