import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX, countTargets, encodeForOpt, tokenizeExample } from '../../../src/train/data/tokenizeExample.js';
import { WordTokenizer } from './wordTokenizer.js';

describe('tokenizeExample', () => {
  it('prepends BOS, maps </s> to EOS and labels tokens overlapping the spans', () => {
    const tok = new WordTokenizer();
    const text = 'User: hi\nAssistant: yes sir</s>';
    const start = text.indexOf('yes');
    const { inputIds, labels } = tokenizeExample(text, [[start, text.length]], tok);
    expect(inputIds[0]).toBe(2);
    expect(inputIds.at(-1)).toBe(2);
    expect(tok.decode(inputIds.slice(1, -1))).toBe('User: hi\nAssistant: yes sir');
    const targets = Array.from(inputIds).filter((_, i) => labels[i] !== IGNORE_INDEX);
    expect(tok.decode(targets.slice(0, -1))).toBe('yes sir');
    expect(targets.at(-1)).toBe(2);
    expect(labels[0]).toBe(IGNORE_INDEX);
  });

  it('a token straddling a span edge is a target', () => {
    const tok = new WordTokenizer();
    const text = 'abcdef ghi';
    const { labels } = tokenizeExample(text, [[3, 4]], tok); // inside "abcdef"
    expect(Array.from(labels)).toEqual([IGNORE_INDEX, labels[1], IGNORE_INDEX, IGNORE_INDEX]);
    expect(labels[1]).not.toBe(IGNORE_INDEX);
  });

  it('handles </s> anywhere, including repeated and leading', () => {
    const tok = new WordTokenizer();
    const enc = encodeForOpt('</s>a</s></s>b', tok);
    expect(enc.ids.map((id) => (id === 2 ? 'E' : tok.decode([id])))).toEqual(['E', 'E', 'a', 'E', 'E', 'b']);
    expect(enc.offsets).toEqual([[0, 0], [0, 4], [4, 5], [5, 9], [9, 13], [13, 14]]);
  });

  it('target tokens cover exactly the span text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z ]{1,6}$/), { minLength: 1, maxLength: 8 }), fc.nat(), (parts, pick) => {
        const tok = new WordTokenizer();
        // Spans on token boundaries: every other part is a target.
        const text = parts.join('|');
        const spans: [number, number][] = [];
        let pos = 0;
        parts.forEach((p, i) => {
          if ((i + pick) % 2 === 0) spans.push([pos, pos + p.length]);
          pos += p.length + 1;
        });
        const ex = tokenizeExample(text, spans, tok);
        const got = Array.from(ex.inputIds).filter((_, i) => ex.labels[i] !== IGNORE_INDEX);
        expect(tok.decode(got)).toBe(spans.map(([a, b]) => text.slice(a, b)).join(''));
        expect(countTargets(ex)).toBe(got.length);
      }),
    );
  });

  it('rejects a tokenizer that adds special tokens', () => {
    const tok = new WordTokenizer();
    const bad = { ...tok, bosId: 2, eosId: 2, padId: 1, encodeWithOffsets: () => ({ ids: [2, 5], offsets: [[0, 0], [0, 1]] as [number, number][] }) };
    expect(() => tokenizeExample('x', [], bad)).toThrow(/must not add BOS\/EOS/);
  });
});
