/**
 * Trains a small byte-level BPE tokenizer in GPT-2's file format, so kiln's demo needs no
 * downloads. Texts are split with GPT-2's pre-tokenization pattern and turned into byte-level
 * words; the most frequent adjacent pair of symbols is merged repeatedly until the vocabulary
 * reaches the requested size. Vocabulary ids follow OPT's layout: the special tokens first
 * (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3), then the 256 byte symbols in code point order (as
 * GPT-2's vocab.json lists them), then one id per merge.
 *
 * Pair counts live in a max-heap with lazy deletion: an entry whose count is stale is skipped
 * when popped. Each merge revisits only the words containing the pair, so a few MB of text train
 * a 4k vocabulary in seconds. Ties break on the smaller pair of ids, so training is deterministic.
 */
import { byteToUnicode, gpt2PreTokenizePattern, toByteLevel } from './byteLevel.js';

export interface BpeTrainingOptions {
  vocabSize: number;
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged. */
  minFrequency?: number;
  /**
   * Never merge a digit with anything, so every number is spelled one digit per token (` 24` is
   * `Ġ`, `2`, `4`), as Qwen2's and DeepSeek's tokenizers split numbers. A small model then copies
   * a number as a few tokens it has seen thousands of times instead of one rare token
   * (docs/demo.md). Done in the merges, not the pre-tokenizer, so the files stay GPT-2's format.
   */
  splitDigits?: boolean;
  /**
   * Never merge the space before a word into the word, so a word is one and the same token after a
   * space in prose (`Ġ`, `Lisbon`) and after a quote in JSON (`"`, `Lisbon`). A small model can
   * then copy an argument from the query into the Action Input as the token it reads, instead of
   * learning which spaced token goes with which unspaced one (docs/demo.md). In the merges, like
   * `splitDigits`.
   */
  separateSpaces?: boolean;
}

export interface TrainedBpe {
  /** vocab.json content: token -> id. */
  vocabJson: string;
  /** merges.txt content: `#version: 0.2` then one `left right` pair per line, in rank order. */
  mergesTxt: string;
}

export const optSpecialTokens = ['<s>', '<pad>', '</s>', '<unk>'];

/** Symbol ids stay below 2^21, so a pair packs exactly into one double: left * 2^21 + right. */
const pairShift = 2 ** 21;

class PairHeap {
  private readonly counts: number[] = [];
  private readonly pairs: number[] = [];

  push(count: number, pair: number): void {
    this.counts.push(count);
    this.pairs.push(pair);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; pair: number } | null {
    if (this.counts.length === 0) return null;
    const top = { count: this.counts[0]!, pair: this.pairs[0]! };
    const lastCount = this.counts.pop()!;
    const lastPair = this.pairs.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.pairs[0] = lastPair;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.before(l, best)) best = l;
        if (r < this.counts.length && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  /** Higher count first; equal counts: smaller pair first. */
  private before(a: number, b: number): boolean {
    return this.counts[a]! > this.counts[b]! || (this.counts[a] === this.counts[b] && this.pairs[a]! < this.pairs[b]!);
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b]!, this.counts[a]!];
    [this.pairs[a], this.pairs[b]] = [this.pairs[b]!, this.pairs[a]!];
  }
}

/** Distinct pre-tokenized words of `texts` as symbol ids, sorted, with how often each occurs. */
function countWords(texts: readonly string[], symbolId: ReadonlyMap<string, number>, separateSpaces: boolean): { words: number[][]; counts: number[] } {
  // Pre-tokenization keeps merges inside words.
  const wordCounts = new Map<string, number>();
  const add = (piece: string) => {
    const word = toByteLevel(piece);
    wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  };
  for (const text of texts) {
    for (const piece of text.match(gpt2PreTokenizePattern) ?? []) {
      // Counted apart, the space and the word never form a pair, so no merge joins them.
      if (separateSpaces && /^ \p{L}/u.test(piece)) {
        add(' ');
        add(piece.slice(1));
      } else add(piece);
    }
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of [...wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    words.push(Array.from(word, (c) => symbolId.get(c)!));
    counts.push(count);
  }
  return { words, counts };
}

/** `word` with every non-overlapping occurrence of (left, right), left to right, replaced by `merged`. */
function mergePair(word: readonly number[], left: number, right: number, merged: number): number[] {
  const next: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      next.push(merged);
      i++;
    } else {
      next.push(word[i]!);
    }
  }
  return next;
}

/** The words being merged, with each adjacent pair's count (weighted by word counts) and the words it occurs in. */
class PairIndex {
  private readonly pairCounts = new Map<number, number>();
  private readonly pairWords = new Map<number, Set<number>>();

  constructor(
    private readonly words: number[][],
    private readonly counts: readonly number[],
    /** Symbols that never take part in a merge. */
    private readonly unmergeable: ReadonlySet<number> = new Set(),
  ) {}

  /** Indexes every word; returns each pair with its count. */
  indexAll(): [pair: number, count: number][] {
    const initial = new Set<number>();
    for (let w = 0; w < this.words.length; w++) this.addPairs(w, 1, initial);
    return [...initial].map((pair) => [pair, this.pairCounts.get(pair)!]);
  }

  count(pair: number): number | undefined {
    return this.pairCounts.get(pair);
  }

  /**
   * Merges `pair` = (left, right) into `merged` in every word holding it; returns the pairs whose
   * counts changed and are still present, with their new counts (vanished pairs are forgotten).
   */
  merge(pair: number, left: number, right: number, merged: number): [pair: number, count: number][] {
    const changed = new Set<number>();
    for (const w of this.pairWords.get(pair) ?? []) {
      const word = this.words[w]!;
      let found = false;
      for (let i = 0; i + 1 < word.length && !found; i++) found = word[i] === left && word[i + 1] === right;
      if (!found) continue;
      this.addPairs(w, -1, changed);
      this.words[w] = mergePair(word, left, right, merged);
      this.addPairs(w, 1, changed);
    }
    this.pairWords.delete(pair);
    const present: [number, number][] = [];
    for (const p of changed) {
      const count = this.pairCounts.get(p)!;
      if (count > 0) present.push([p, count]);
      else this.pairCounts.delete(p);
    }
    return present;
  }

  private addPairs(w: number, sign: 1 | -1, changed: Set<number>): void {
    const word = this.words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      if (this.unmergeable.has(word[i]!) || this.unmergeable.has(word[i + 1]!)) continue;
      const pair = word[i]! * pairShift + word[i + 1]!;
      this.pairCounts.set(pair, (this.pairCounts.get(pair) ?? 0) + sign * this.counts[w]!);
      changed.add(pair);
      if (sign > 0) {
        let set = this.pairWords.get(pair);
        if (!set) this.pairWords.set(pair, (set = new Set()));
        set.add(w);
      }
    }
  }
}

/** vocab.json and merges.txt: special tokens, then symbols, then the merges in rank order. */
function bpeFiles(specials: readonly string[], symbols: readonly string[], merges: readonly string[]): TrainedBpe {
  // Null prototype: a token may spell "__proto__". Ids stay contiguous even if a merged string
  // happens to equal a special token (it then keeps the special token's id).
  const vocab: Record<string, number> = Object.create(null);
  let nextId = 0;
  for (const token of [...specials, ...symbols]) if (!(token in vocab)) vocab[token] = nextId++;
  return {
    vocabJson: JSON.stringify(vocab),
    mergesTxt: `#version: 0.2\n${merges.join('\n')}${merges.length ? '\n' : ''}`,
  };
}

export function trainByteLevelBpe(texts: readonly string[], options: BpeTrainingOptions): TrainedBpe {
  const specials = options.specialTokens ?? optSpecialTokens;
  const minFrequency = options.minFrequency ?? 2;
  const base = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base || options.vocabSize >= pairShift) {
    throw new Error(`trainByteLevelBpe: vocabSize must be an integer in [${base}, ${pairShift}), got ${options.vocabSize}`);
  }

  // Symbols: the 256 byte characters in code point order, then merged strings.
  const symbols = [...byteToUnicode].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const symbolId = new Map(symbols.map((s, i) => [s, i]));
  const { words, counts } = countWords(texts, symbolId, options.separateSpaces ?? false);
  const digits = options.splitDigits ? new Set([...'0123456789'].map((d) => symbolId.get(d)!)) : new Set<number>();
  const index = new PairIndex(words, counts, digits);
  const heap = new PairHeap();
  for (const [pair, count] of index.indexAll()) heap.push(count, pair);

  const merges: string[] = [];
  while (symbols.length + specials.length < options.vocabSize) {
    const best = heap.pop();
    if (best === null || best.count < minFrequency) break;
    if (index.count(best.pair) !== best.count) continue; // stale entry
    const left = Math.floor(best.pair / pairShift);
    const right = best.pair % pairShift;
    const mergedText = symbols[left]! + symbols[right]!;
    // Two merge paths can spell the same string ("ab"+"c", "a"+"bc"): they share one id.
    let merged = symbolId.get(mergedText);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(mergedText);
      symbolId.set(mergedText, merged);
    }
    merges.push(`${symbols[left]} ${symbols[right]}`);
    for (const [pair, count] of index.merge(best.pair, left, right, merged)) heap.push(count, pair);
  }
  return bpeFiles(specials, symbols, merges);
}
