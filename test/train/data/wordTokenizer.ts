import type { TokenizerLike } from '../../../src/train/data/tokenizeExample.js';

/**
 * A tiny tokenizer for the data-pipeline tests: one token per word, per run of whitespace and per
 * other character, ids assigned on first sight from 4 up (0-3 are OPT's specials: pad 1, BOS/EOS 2).
 */
export class WordTokenizer implements TokenizerLike {
  readonly bosId = 2;
  readonly eosId = 2;
  readonly padId = 1;
  private readonly vocab = new Map<string, number>();
  readonly pieces: string[] = ['<s>', '<pad>', '</s>', '<unk>'];

  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] } {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const m of text.matchAll(/\w+|\s+|[^\w\s]/gu)) {
      let id = this.vocab.get(m[0]);
      if (id === undefined) {
        id = this.pieces.length;
        this.vocab.set(m[0], id);
        this.pieces.push(m[0]);
      }
      ids.push(id);
      offsets.push([m.index, m.index + m[0].length]);
    }
    return { ids, offsets };
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id) => this.pieces[id]!).join('');
  }
}
