/**
 * Byte-level BPE tokenizers run by `@huggingface/tokenizers`: OPT's (GPT-2's BPE with `</s>` = 2
 * as BOS and EOS, `<pad>` = 1) and the Llama family's (Llama 3, SmolLM2, Qwen), whose special
 * tokens come from tokenizer_config.json and whose chat template (tokenizer_config.json's
 * `chat_template`, or chat_template.jinja) is kept for chatTemplate.ts. It loads from `tokenizer.json`, or from
 * `vocab.json` + `merges.txt` (what facebook/opt-* ship) by assembling the equivalent
 * tokenizer.json structure. Special tokens are matched in text before BPE, so `</s>` written in
 * a prompt becomes id 2.
 *
 * Offsets are computed here (the library does not report them): each token covers a run of the
 * text's UTF-8 bytes, mapped back to UTF-16 indices of `text` (JavaScript string indices, so
 * `text.slice(start, end)` is the token's text). A token that holds only part of a multi-byte
 * character covers that whole character.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { unicodeToByte } from './byteLevel.js';
import { type ResolveOptions, resolveModelFiles } from '../checkpoint/hub.js';

type Json = Record<string, unknown>;

export interface EncodeOptions {
  /** Prepend the BOS token (`</s>` for OPT), as OPT's tokenizer does by default. */
  addBos?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

const tokenizerFileNames = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

function parseJson(text: string, file: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new Error(`${file}: invalid JSON: ${(err as Error).message}`);
  }
}

/** A special token entry of tokenizer_config.json: a string or `{content: string, ...}`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** tokenizer.json for GPT-2 byte-level BPE, as `transformers` converts OPT's vocab.json + merges.txt. */
function tokenizerJsonFromVocab(vocab: Record<string, number>, merges: string[], specials: string[], bos: string): Json {
  const addedTokens = specials
    .filter((t) => t in vocab)
    .map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const bosId = vocab[bos];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    // transformers adds the BOS through this template; kiln adds it itself (encode's addBos).
    post_processor: bosId === undefined ? byteLevel : {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

export class Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly vocabSize: number;
  /** Whether encode() prepends the BOS by default: what the tokenizer's own post-processor does. */
  readonly addsBos: boolean;
  /** The chat template's Jinja source, or null when the tokenizer has none. */
  readonly chatTemplate: string | null;
  /** The template came from chat_template.jinja (saved back there), not tokenizer_config.json. */
  private readonly templateFile: string | null;
  private readonly inner: HfTokenizer;
  private readonly added: Map<string, number>;
  private readonly tokenOf: Map<number, string>;

  private constructor(
    private readonly tokenizerJson: Json,
    private readonly config: Json,
    private readonly source: string,
    templateFile: string | null = null,
  ) {
    this.inner = new HfTokenizer(tokenizerJson, { ...config, clean_up_tokenization_spaces: false });
    this.added = new Map(((tokenizerJson.added_tokens ?? []) as { content: string; id: number }[]).map((t) => [t.content, t.id]));
    this.tokenOf = new Map([...this.inner.get_vocab(true)].map(([token, id]) => [id, token]));
    this.vocabSize = [...this.tokenOf.keys()].reduce((max, id) => Math.max(max, id + 1), 0);
    // A token the config names must exist; an unnamed one falls back to OPT's, and where the
    // vocabulary lacks that too (Qwen has no BOS, Llama 3 no pad) to the EOS.
    const idOf = (key: string, fallback: string, orElse: number | undefined): number => {
      const named = tokenContent(config[key]);
      const token = named ?? fallback;
      const id = this.inner.token_to_id(token) ?? (named === undefined ? orElse : undefined);
      if (id === undefined) throw new Error(`${source}: ${key} "${token}" is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf('bos_token', '</s>', this.inner.token_to_id(tokenContent(config.eos_token) ?? '</s>'));
    this.eosId = idOf('eos_token', '</s>', undefined);
    this.padId = idOf('pad_token', '<pad>', this.eosId);
    this.chatTemplate = templateFile ?? chatTemplateOf(config, source);
    this.addsBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : postProcessorAddsBos(tokenizerJson, this.idToToken(this.bosId), this.chatTemplate === null);
    this.templateFile = templateFile;
  }

  /** From a tokenizer.json object (and tokenizer_config.json for special token names). */
  static fromTokenizerJson(tokenizerJson: Json, config: Json = {}, source = 'tokenizer.json', chatTemplateJinja: string | null = null): Tokenizer {
    if ((tokenizerJson.model as Json | undefined)?.type !== 'BPE') throw new Error(`${source}: model.type must be "BPE"`);
    return new Tokenizer(tokenizerJson, config, source, chatTemplateJinja);
  }

  /** From GPT-2 style vocab.json + merges.txt contents. */
  static fromVocabAndMerges(vocabJson: string, mergesTxt: string, config: Json = {}, source = 'vocab.json'): Tokenizer {
    const vocab = parseJson(vocabJson, source);
    for (const [token, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id)) throw new Error(`${source}: token ${JSON.stringify(token)} has a non-integer id ${JSON.stringify(id)}`);
    }
    const merges: string[] = [];
    mergesTxt.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line.length === 0 || (i === 0 && line.startsWith('#version'))) return;
      if (line.split(' ').length !== 2) throw new Error(`merges.txt: line ${i + 1} is not "left right": ${JSON.stringify(line)}`);
      merges.push(line);
    });
    // The special tokens are those tokenizer_config names, as transformers' conversion makes
    // them (OPT: `</s>` for bos/eos/unk and `<pad>`); `<s>` and `<unk>` stay ordinary text.
    const bos = tokenContent(config.bos_token) ?? '</s>';
    const specials = [...new Set([
      bos,
      tokenContent(config.eos_token) ?? '</s>',
      tokenContent(config.unk_token) ?? '</s>',
      tokenContent(config.pad_token) ?? '<pad>',
    ])];
    return new Tokenizer(tokenizerJsonFromVocab(vocab as Record<string, number>, merges, specials, bos), config, source);
  }

  /** From file contents keyed by file name, as files() returns them. */
  static fromFiles(files: Record<string, string>, source = 'tokenizer files'): Tokenizer {
    const config: Json = {
      ...(files['special_tokens_map.json'] ? parseJson(files['special_tokens_map.json'], 'special_tokens_map.json') : {}),
      ...(files['tokenizer_config.json'] ? parseJson(files['tokenizer_config.json'], 'tokenizer_config.json') : {}),
    };
    if (files['tokenizer.json']) {
      return Tokenizer.fromTokenizerJson(parseJson(files['tokenizer.json'], `${source}: tokenizer.json`), config, `${source}: tokenizer.json`, files['chat_template.jinja'] ?? null);
    }
    if (files['vocab.json'] && files['merges.txt']) return Tokenizer.fromVocabAndMerges(files['vocab.json'], files['merges.txt'], config, `${source}: vocab.json`);
    throw new Error(`${source}: need tokenizer.json, or vocab.json and merges.txt`);
  }

  static fromDir(dir: string): Tokenizer {
    const files: Record<string, string> = {};
    for (const name of tokenizerFileNames) if (existsSync(join(dir, name))) files[name] = readFileSync(join(dir, name), 'utf8');
    return Tokenizer.fromFiles(files, dir);
  }

  /** A local directory, or a hub repo id whose tokenizer files are downloaded (or cached) first. */
  static async fromPretrained(pathOrId: string, options: ResolveOptions = {}): Promise<Tokenizer> {
    return Tokenizer.fromDir((await resolveModelFiles(pathOrId, { ...options, tokenizerOnly: true })).dir);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.inner.encode(text, { add_special_tokens: false }).ids;
    return options.addBos ?? this.addsBos ? [this.bosId, ...ids] : ids;
  }

  /** Ids (no BOS) and each token's [start, end) in UTF-16 indices of `text`. */
  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] } {
    if (this.tokenizerJson.normalizer || (this.tokenizerJson.pre_tokenizer as Json | null)?.add_prefix_space) {
      throw new Error(`${this.source}: offsets need a tokenizer without normalizer or prefix space`);
    }
    const { ids, tokens } = this.inner.encode(text, { add_special_tokens: false });
    // For every UTF-8 byte of text: the string index where its character starts and ends.
    // Lone surrogates count as the 3 bytes of U+FFFD, as TextEncoder encodes them.
    const charStart: number[] = [];
    const charEnd: number[] = [];
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp > 0xffff ? 4 : 3;
      for (let k = 0; k < bytes; k++) {
        charStart.push(i);
        charEnd.push(i + width);
      }
      i += width;
    }
    const offsets: [number, number][] = [];
    let byte = 0;
    let char = 0;
    tokens.forEach((token: string, t: number) => {
      let length: number;
      if (this.added.get(token) === ids[t] && text.startsWith(token, char)) {
        length = new TextEncoder().encode(token).length;
      } else {
        length = [...token].length;
        for (const c of token) if (!unicodeToByte.has(c)) throw new Error(`${this.source}: token ${JSON.stringify(token)} is not byte-level`);
      }
      if (length === 0 || byte + length > charStart.length) throw new Error(`${this.source}: token offsets ran past the text`);
      offsets.push([charStart[byte]!, charEnd[byte + length - 1]!]);
      byte += length;
      char = charEnd[byte - 1]!;
    });
    return { ids, offsets };
  }

  /** Ids outside the vocabulary (the model's padded rows, e.g. 50265-50271 for OPT) decode to ''. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const known = ids.filter((id) => this.tokenOf.has(id));
    if (known.length === 0) return '';
    return this.inner.decode(known, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenOf.get(id);
  }

  /** tokenizer.json, tokenizer_config.json and special_tokens_map.json, for saving beside a model. */
  files(): Record<string, string> {
    const name = (id: number) => this.tokenOf.get(id)!;
    const specialTokens = {
      bos_token: name(this.bosId),
      eos_token: name(this.eosId),
      unk_token: tokenContent(this.config.unk_token) ?? name(this.eosId),
      pad_token: name(this.padId),
    };
    // OPT's files as transformers writes them; another family's config keeps its own class and flags.
    const opt = { add_bos_token: true, add_prefix_space: false, errors: 'replace', tokenizer_class: 'GPT2Tokenizer' };
    const config = this.templateFile === null && this.chatTemplate === null ? { ...this.config, ...opt, ...specialTokens } : { ...opt, ...this.config, ...specialTokens };
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    const model = this.tokenizerJson.model as Json;
    const merges = (model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
    return {
      'tokenizer.json': json(this.tokenizerJson),
      'vocab.json': JSON.stringify(model.vocab),
      'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
      'tokenizer_config.json': json(config),
      'special_tokens_map.json': json(specialTokens),
      ...(this.templateFile !== null ? { 'chat_template.jinja': this.templateFile } : {}),
    };
  }
}

/**
 * Whether tokenizer.json's template post-processor puts `bos` before the text (Llama 3's does;
 * Qwen's and SmolLM2's byte-level processors add nothing). Without a template processor, a
 * tokenizer without a chat template is taken for OPT's, which always starts with `</s>`.
 */
function postProcessorAddsBos(tokenizerJson: Json, bos: string | undefined, optStyle: boolean): boolean {
  const single = (tokenizerJson.post_processor as Json | null)?.single;
  if (!Array.isArray(single)) return optStyle;
  if (bos === undefined) return false;
  const first = single[0] as { SpecialToken?: { id?: string } } | undefined;
  return first?.SpecialToken?.id === bos;
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates of which "default" is used. */
function chatTemplateOf(config: Json, source: string): string | null {
  const t = config.chat_template;
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = (t as { name?: unknown; template?: unknown }[]).find((e) => e.name === 'default');
    if (named && typeof named.template === 'string') return named.template;
  }
  throw new Error(`${source}: chat_template must be a string or a list holding a template named "default"`);
}
