import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteToUnicode, toByteLevel } from '../../src/model/tokenizer/byteLevel.js';
import { trainByteLevelBpe, type BpeTrainingOptions, type TrainedBpe } from '../../src/model/tokenizer/bpeTrainer.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';

/** Deterministic pseudo-language: Zipf-ish words, punctuation, digits and some non-ASCII. */
/** A 400-token BPE tokenizer trained on `texts` with the given trainer options. */
function smallBpe(texts: string[], options: Omit<BpeTrainingOptions, 'vocabSize'>): Tokenizer {
  const bpe = trainByteLevelBpe(texts, { vocabSize: 400, ...options });
  return Tokenizer.fromVocabAndMerges(bpe.vocabJson, bpe.mergesTxt);
}

/** `text` as the tokenizer splits it, one decoded piece per token. */
function piecesOf(t: Tokenizer, text: string): string[] {
  return t.encode(text, { addBos: false }).map((id) => t.decode([id]));
}

function corpus(sentences: number, seed = 1): string[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const syllables = ['ka', 'lo', 'mi', 'tor', 'en', 'the', 'and', 'ing', 'qu', 'ré', 'über', 'ñu', '数', '据', 'ст', 'во'];
  const words = Array.from({ length: 400 }, () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => syllables[Math.floor(rand() * syllables.length)]).join(''));
  const texts: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const n = 4 + Math.floor(rand() * 10);
    const parts = Array.from({ length: n }, () => words[Math.floor(words.length * rand() ** 2)]!);
    if (rand() < 0.2) parts.push(String(Math.floor(rand() * 1000)));
    texts.push(`${parts.join(' ')}${rand() < 0.5 ? '.' : '?'} {"tool": "call_${i % 7}"}\n`);
  }
  return texts;
}

let trained: TrainedBpe;
let tokenizer: Tokenizer;
let dir: string;
beforeAll(() => {
  trained = trainByteLevelBpe(corpus(2000), { vocabSize: 600, specialTokens: ['<s>', '<pad>', '</s>', '<unk>'] });
  tokenizer = Tokenizer.fromVocabAndMerges(trained.vocabJson, trained.mergesTxt);
  dir = mkdtempSync(join(tmpdir(), 'kiln-tokenizer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('byte-level BPE trainer', () => {
  it("lays out OPT's special ids, then GPT-2's 256 byte symbols, then merges, up to vocabSize", () => {
    const vocab = JSON.parse(trained.vocabJson) as Record<string, number>;
    expect([vocab['<s>'], vocab['<pad>'], vocab['</s>'], vocab['<unk>']]).toEqual([0, 1, 2, 3]);
    const byteSymbols = [...byteToUnicode].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
    byteSymbols.forEach((c, i) => expect(vocab[c]).toBe(4 + i));
    expect(vocab['!']).toBe(4); // as in GPT-2's vocab.json, offset by OPT's 4 specials
    expect(vocab['Ġ']).toBe(4 + 220); // the space byte's symbol
    expect(new Set(Object.values(vocab)).size).toBe(600);
    expect(Math.max(...Object.values(vocab))).toBe(599);
    const merges = trained.mergesTxt.split('\n');
    expect(merges[0]).toBe('#version: 0.2');
    expect(merges.filter((l) => l && !l.startsWith('#')).length).toBe(600 - 260);
  });

  it('is deterministic', () => {
    const again = trainByteLevelBpe(corpus(2000), { vocabSize: 600 });
    expect(again).toEqual(trained);
  });

  it('trains a 4k vocabulary on a few MB of text', () => {
    const texts = corpus(40_000, 7);
    const megabytes = texts.reduce((n, t) => n + t.length, 0) / 1e6;
    expect(megabytes).toBeGreaterThan(2);
    const big = trainByteLevelBpe(texts, { vocabSize: 4000 });
    expect(Object.keys(JSON.parse(big.vocabJson)).length).toBeGreaterThan(1000);
  });

  it('with splitDigits, spells every number one digit per token and still round-trips', () => {
    const texts = Array.from({ length: 300 }, (_, i) => `rank ${(i * 37) % 100} of ${1000 + i}, page 24 (24) x24y`);
    const merged = smallBpe(texts, {});
    const split = smallBpe(texts, { splitDigits: true });
    const text = 'page 24 of 1999, rank 7 x24y';
    const pieces = (t: Tokenizer) => piecesOf(t, text);
    // Without the option the frequent numbers become single tokens.
    expect(pieces(merged)).toContain(' 24');
    const digitPieces = pieces(split).filter((p) => /\d/.test(p));
    expect(digitPieces.join('')).toBe('241999724');
    for (const p of digitPieces) expect(p).toMatch(/^\d$/);
    expect(split.decode(split.encode(text, { addBos: false }))).toBe(text);
    // Merges elsewhere still happen.
    expect(pieces(split).some((p) => p.length > 1)).toBe(true);
  });

  it('with separateSpaces, a word is the same token after a space and after a quote, and text still round-trips', () => {
    const texts = Array.from({ length: 300 }, (_, i) => `Show the pollen in Lisbon over ${i % 9} days. {"city": "Lisbon", "n": ${i}}`);
    const joined = smallBpe(texts, {});
    const apart = smallBpe(texts, { separateSpaces: true });
    const text = 'the pollen in Lisbon: {"city": "Lisbon"}';
    const pieces = (t: Tokenizer) => piecesOf(t, text);
    // Without the option the word after a space is another token than the word after a quote.
    expect(pieces(joined)).toEqual(expect.arrayContaining([' Lisbon', 'Lisbon']));
    expect(pieces(apart).filter((p) => p.includes('Lisbon'))).toEqual(['Lisbon', 'Lisbon']);
    expect(pieces(apart).some((p) => /^ \p{L}/u.test(p))).toBe(false);
    expect(apart.decode(apart.encode(text, { addBos: false }))).toBe(text);
    // A space still merges with punctuation (` "`), and words still merge inside.
    expect(pieces(apart)).toContain(' "');
    expect(pieces(apart)).toContain('pollen');
  });

  it('refuses a vocabulary smaller than the specials and bytes', () => {
    expect(() => trainByteLevelBpe(['abc'], { vocabSize: 100 })).toThrow(/vocabSize must be an integer in \[260,/);
  });
});

describe('tokenizer', () => {
  it('decode(encode(x)) === x for arbitrary unicode strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom(...corpus(50, 3))), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text, { addBos: false }))).toBe(text);
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(`</s>${text}`);
      }),
      { numRuns: 300 },
    );
  });

  it("prepends OPT's BOS (</s> = 2) and maps </s> and <pad> in text to their ids", () => {
    expect(tokenizer.bosId).toBe(2);
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.padId).toBe(1);
    expect(tokenizer.vocabSize).toBe(600);
    const ids = tokenizer.encode('kalo</s><pad>mi');
    expect(ids[0]).toBe(2);
    expect(ids).toContain(1);
    expect(ids.filter((id) => id === 2).length).toBe(2);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('kalomi');
    expect(tokenizer.encode('', { addBos: false })).toEqual([]);
    expect(tokenizer.decode([])).toBe('');
    expect(tokenizer.decode([5, 99999])).toBe('"'); // ids past the vocabulary (padded model rows) are dropped
  });

  it('learned merges are used: common words take fewer tokens than bytes', () => {
    const text = corpus(1, 5)[0]!;
    expect(tokenizer.encode(text, { addBos: false }).length).toBeLessThan(new TextEncoder().encode(text).length / 2);
    expect(tokenizer.tokenToId(toByteLevel(' '))).toBe(4 + 220);
    expect(tokenizer.idToToken(2)).toBe('</s>');
  });

  it('offsets are UTF-16 string indices, not byte offsets, for non-ASCII text too', () => {
    const text = 'héllo wörld 🎉 数据</s> ñu!';
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    expect(ids).toEqual(tokenizer.encode(text, { addBos: false }));
    const special = ids.indexOf(2);
    expect(text.slice(...offsets[special]!)).toBe('</s>');
    for (let i = 0; i < ids.length; i++) {
      const piece = tokenizer.decode([ids[i]!]);
      // A token holding part of a character covers the whole character.
      if (!piece.includes('\ufffd')) expect(text.slice(...offsets[i]!)).toBe(piece);
    }
    const emoji = text.indexOf('🎉');
    expect(offsets.some(([s, e]) => s <= emoji && e >= emoji + 2)).toBe(true);
    expect(offsets[offsets.length - 1]![1]).toBe(text.length);
  });

  it('offsets tile the text in order for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const { ids, offsets } = tokenizer.encodeWithOffsets(text);
        expect(offsets.length).toBe(ids.length);
        let previousStart = 0;
        let previousEnd = 0;
        for (const [s, e] of offsets) {
          expect(s).toBeGreaterThanOrEqual(previousStart);
          expect(s).toBeLessThanOrEqual(previousEnd); // contiguous (overlap only inside a split character)
          expect(e).toBeGreaterThan(s);
          previousStart = s;
          previousEnd = e;
        }
        expect(previousEnd).toBe(text.length);
      }),
      { numRuns: 200 },
    );
  });

  it('files() reload to the same tokenizer, through tokenizer.json and through vocab + merges', () => {
    const files = tokenizer.files();
    const viaJson = Tokenizer.fromFiles(files);
    const { 'tokenizer.json': _unused, ...gpt2Files } = files;
    void _unused;
    const viaVocab = Tokenizer.fromFiles(gpt2Files);
    for (const text of [...corpus(20, 9), 'x</s>y <pad>', '😀 ünïcödé']) {
      const want = tokenizer.encode(text);
      expect(viaJson.encode(text)).toEqual(want);
      expect(viaVocab.encode(text)).toEqual(want);
    }
    expect(JSON.parse(files['tokenizer_config.json']!)).toMatchObject({ bos_token: '</s>', eos_token: '</s>', pad_token: '<pad>', tokenizer_class: 'GPT2Tokenizer' });
  });

  it('loads from a directory (fromDir / fromPretrained) and names the directory when files are missing', async () => {
    writeFileSync(join(dir, 'vocab.json'), trained.vocabJson);
    writeFileSync(join(dir, 'merges.txt'), trained.mergesTxt);
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '</s>', eos_token: '</s>', unk_token: '</s>', pad_token: '<pad>' }));
    const loaded = await Tokenizer.fromPretrained(dir);
    expect(loaded.encode('kalo mi')).toEqual(tokenizer.encode('kalo mi'));
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(() => Tokenizer.fromDir(empty)).toThrow(/empty-\w+: need tokenizer\.json, or vocab\.json and merges\.txt/);
  });

  it('names the file and token for malformed inputs', () => {
    expect(() => Tokenizer.fromVocabAndMerges('{"a": "x"}', '')).toThrow(/vocab\.json: token "a" has a non-integer id "x"/);
    expect(() => Tokenizer.fromVocabAndMerges(trained.vocabJson, '#version: 0.2\na b c\n')).toThrow(/merges\.txt: line 2 is not "left right"/);
    expect(() => Tokenizer.fromVocabAndMerges('{"a": 0}', '', { pad_token: '<pad>' })).toThrow(/bos_token "<\/s>" is not in the vocabulary/);
  });
});
