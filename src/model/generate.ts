/**
 * Autoregressive generation: prompts are left-padded into one batch, the prompt runs once
 * through the decoder filling the KV cache, then each step feeds one token per sequence. Only the
 * last position's logits come back to the host ([B, V] per step), where the next token is chosen:
 * greedy (argmax, lowest index on ties, as torch.argmax), or sampled after HF's warpers in HF's
 * order (temperature, top-k, top-p) from a seeded generator. A sequence stops at EOS, at a stop
 * string, when the caller's `stopWhen` accepts its text, or after maxNewTokens; finished sequences are fed the pad token (as HF does) until all
 * are done.
 */
import type { GenerationModel } from './causalLM.js';
import { SeededRandom } from './random.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Sampling happens when temperature > 0; otherwise greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (sampling only). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (sampling only). */
  topP?: number;
  seed?: number;
  /** Stop a sequence once its decoded new text contains one of these (needs `tokenizer`). */
  stopStrings?: string[];
  tokenizer?: { decode(ids: readonly number[]): string };
  /** Stop a sequence once this is true of its decoded new text (needs `tokenizer`). */
  stopWhen?: (newText: string) => boolean;
  /** Default the config's eos_token_id (every id of its list); null never stops at a token. */
  eosTokenId?: number | readonly number[] | null;
  /**
   * Restricts a sequence's next token to the ids returned, as transformers' `prefix_allowed_tokens_fn`
   * does (here given the sequence's index in the batch and its new tokens so far); null leaves it
   * free. Used for constrained decoding, e.g. an agent's Action line (src/eval/agent/actionNames.ts).
   */
  allowedTokens?: (sequence: number, newTokens: readonly number[]) => readonly number[] | null;
  /** false recomputes the whole sequence every step (slow; tests compare it with the cache). */
  useCache?: boolean;
}

/** The next token from one row of logits. */
export function chooseToken(logits: Float32Array, opts: GenerateOptions, rng: SeededRandom): number {
  const temperature = opts.temperature ?? 0;
  if (!(temperature > 0)) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const V = logits.length;
  const scores = new Float64Array(V);
  for (let i = 0; i < V; i++) scores[i] = logits[i]! / temperature;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  let keep = V;
  if (opts.topK !== undefined && opts.topK > 0 && opts.topK < V) {
    // HF's TopKLogitsWarper keeps every score >= the k-th largest (ties included).
    const kth = scores[order[opts.topK - 1]!]!;
    keep = opts.topK;
    while (keep < V && scores[order[keep]!]! >= kth) keep++;
  }
  const max = scores[order[0]!]!;
  const probs = new Float64Array(keep);
  let total = 0;
  for (let j = 0; j < keep; j++) total += probs[j] = Math.exp(scores[order[j]!]! - max);
  if (opts.topP !== undefined && opts.topP < 1) {
    // HF's TopPLogitsWarper drops the tokens whose ascending cumulative probability is <= 1 - p,
    // always keeping the most likely one: from the top, keep while the mass above is < p.
    let above = 0;
    let n = 0;
    while (n < keep && (n === 0 || above < opts.topP * total)) above += probs[n++]!;
    keep = n;
    total = above;
  }
  let r = rng.next() * total;
  for (let j = 0; j < keep; j++) {
    r -= probs[j]!;
    if (r < 0) return order[j]!;
  }
  return order[keep - 1]!;
}

export async function generate(model: GenerationModel, prompts: number[][], opts: GenerateOptions): Promise<number[][]> {
  const pad = model.generationPadId;
  const B = prompts.length;
  if (B === 0) return [];
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`kiln: maxNewTokens must be a non-negative integer`);
  const decodesText = (opts.stopStrings?.length ?? 0) > 0 || opts.stopWhen !== undefined;
  if (decodesText && !opts.tokenizer) throw new Error('kiln: stopStrings and stopWhen need a tokenizer to decode with');
  const P = Math.max(...prompts.map((p) => p.length));
  if (P === 0) throw new Error('kiln: every prompt is empty');
  const eos = new Set(opts.eosTokenId === undefined ? model.eosTokenIds : opts.eosTokenId === null ? [] : typeof opts.eosTokenId === 'number' ? [opts.eosTokenId] : opts.eosTokenId);
  const capacity = P + opts.maxNewTokens;
  // Sequences so far ([B, capacity] row-major, left-padded) and their mask; Tk columns are filled.
  const tokens = new Int32Array(B * capacity).fill(pad);
  const mask = new Int32Array(B * capacity);
  prompts.forEach((p, b) => {
    for (let t = 0; t < p.length; t++) {
      tokens[b * capacity + P - p.length + t] = p[t]!;
      mask[b * capacity + P - p.length + t] = 1;
    }
  });
  const columns = (src: Int32Array, from: number, to: number) => {
    const out = new Int32Array(B * (to - from));
    for (let b = 0; b < B; b++) out.set(src.subarray(b * capacity + from, b * capacity + to), b * (to - from));
    return out;
  };

  const rng = new SeededRandom(opts.seed ?? 0);
  const cache = opts.useCache === false || opts.maxNewTokens === 0 ? null : model.newKVCache(B, capacity);
  const out: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(B).fill(false);
  try {
    for (let Tk = P; Tk < capacity; Tk++) {
      const from = cache ? (Tk === P ? 0 : Tk - 1) : 0;
      const T = Tk - from;
      const logits = model.lastPositionLogits(columns(tokens, from, Tk), columns(mask, 0, Tk), B, T, cache);
      const host = await logits.toArray();
      logits.release();
      const V = model.vocabSize;
      for (let b = 0; b < B; b++) {
        let token = pad;
        if (!finished[b]) {
          token = chooseToken(restrict(host.subarray(b * V, (b + 1) * V), opts.allowedTokens?.(b, out[b]!) ?? null), opts, rng);
          out[b]!.push(token);
          if (eos.has(token)) finished[b] = true;
          else if (decodesText) {
            const text = opts.tokenizer!.decode(out[b]!);
            if (opts.stopStrings?.some((s) => text.includes(s)) || opts.stopWhen?.(text)) finished[b] = true;
          }
        }
        tokens[b * capacity + Tk] = token;
        mask[b * capacity + Tk] = 1;
      }
      if (finished.every(Boolean)) break;
    }
  } finally {
    cache?.release();
  }
  return out;
}

/** The logits with every id outside `allowed` at -Infinity (a copy), or the logits themselves when unrestricted. */
function restrict(logits: Float32Array, allowed: readonly number[] | null): Float32Array {
  if (allowed === null) return logits;
  if (allowed.length === 0) throw new Error('kiln: allowedTokens returned no token, so no next token can be chosen');
  const out = new Float32Array(logits.length).fill(-Infinity);
  for (const id of allowed) {
    if (!Number.isInteger(id) || id < 0 || id >= logits.length) throw new Error(`kiln: allowedTokens returned ${id}, not a token id below ${logits.length}`);
    out[id] = logits[id]!;
  }
  return out;
}
