/**
 * `npm run bench:model`: an OPT-350m-shaped model with random weights (HF's init, seeded; or
 * `KILN_BENCH_MODEL=smollm2-135m|smollm2-360m|qwen2.5-0.5b`, bench/modelShapes.ts):
 * prefill tokens/s for a 512-token prompt (through the KV cache, as generation runs it, up to the
 * last position's logits on the host), decode tokens/s after a 128-token prompt (one token per
 * step, each step's [1, V] logits read back and argmaxed on the host), and peak memory.
 * Reference: PyTorch on 2 CPU threads does ~100 tok/s prefill and ~3 tok/s decode; the goal on
 * lavapipe is >= 50 and >= 10. With `--profile`, one more prefill and up to 8 decode steps run
 * with every dispatch timed on the GPU's clock (Gpu.startProfiling), and the time per kind of
 * kernel is printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Gpu } from '../src/kernels/device.js';
import type { AnyCausalLM } from '../src/model/autoModel.js';
import { chooseToken } from '../src/model/generate.js';
import type { KVCache } from '../src/model/kvCache.js';
import { SeededRandom } from '../src/model/random.js';
import { formatProfile } from './harness.js';
import { benchModel } from './modelShapes.js';

const PREFILL_T = Number(process.env.KILN_BENCH_PREFILL ?? 512);
const DECODE_PROMPT = 128;
const DECODE_STEPS = Number(process.env.KILN_BENCH_DECODE_STEPS ?? 32);
// 'f16': the linear layers' weights stored as halves (inference-only models; see LoadOptions).
const WEIGHTS = process.env.KILN_BENCH_WEIGHTS === 'f16' ? 'f16' : 'f32';

const MODEL = process.env.KILN_BENCH_MODEL ?? 'opt-350m';

function randomPrompt(T: number, seed: number, vocabSize: number): Int32Array {
  const rng = new SeededRandom(seed);
  return Int32Array.from({ length: T }, (_, t) => (t === 0 ? 2 : 3 + Math.floor(rng.next() * (vocabSize - 3))));
}

async function prefill(model: AnyCausalLM, T: number, seed: number): Promise<{ seconds: number; cache: KVCache; token: number }> {
  const cache = model.newKVCache(1, T + DECODE_STEPS);
  await model.gpu.sync();
  const start = performance.now();
  const logits = model.lastPositionLogits(randomPrompt(T, seed, model.vocabSize), new Int32Array(T).fill(1), 1, T, cache);
  const host = await logits.toArray();
  const seconds = (performance.now() - start) / 1000;
  logits.release();
  return { seconds, cache, token: chooseToken(host, { maxNewTokens: 1 }, new SeededRandom(0)) };
}

/** `steps` greedy decoding steps after `past` cached tokens, each step's logits read back; seconds taken. */
async function decode(model: AnyCausalLM, cache: KVCache, past: number, first: number, steps: number): Promise<number> {
  const mask = new Int32Array(past + steps).fill(1);
  let token = first;
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    const logits = model.lastPositionLogits(Int32Array.of(token), mask.subarray(0, past + s + 1), 1, 1, cache);
    const host = await logits.toArray();
    logits.release();
    token = chooseToken(host, { maxNewTokens: 1 }, new SeededRandom(0));
  }
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  const t0 = performance.now();
  const model = await benchModel(MODEL, gpu, WEIGHTS);
  const initSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`kiln bench: ${model.numParameters().toLocaleString()} parameters initialised in ${initSeconds.toFixed(1)} s on ${gpu.adapter.description}\n`);

  // Warm-up: compiles every pipeline the timed runs use.
  (await prefill(model, 16, 0)).cache.release();

  const p = await prefill(model, PREFILL_T, 1);
  p.cache.release();
  const prefillTokensPerSecond = PREFILL_T / p.seconds;

  const d = await prefill(model, DECODE_PROMPT, 2);
  const decodeSeconds = await decode(model, d.cache, DECODE_PROMPT, d.token, DECODE_STEPS);
  d.cache.release();
  const decodeTokensPerSecond = DECODE_STEPS / decodeSeconds;

  if (process.argv.includes('--profile')) {
    gpu.startProfiling();
    const pp = await prefill(model, PREFILL_T, 3);
    console.log(formatProfile(`Profiled prefill of ${PREFILL_T} tokens`, await gpu.stopProfiling(), pp.seconds * 1000));
    pp.cache.release();
    const pd = await prefill(model, DECODE_PROMPT, 4);
    gpu.startProfiling();
    const steps = Math.min(8, DECODE_STEPS);
    const seconds = await decode(model, pd.cache, DECODE_PROMPT, pd.token, steps);
    console.log(formatProfile(`Profiled ${steps} decode steps after ${DECODE_PROMPT} tokens`, await gpu.stopProfiling(), seconds * 1000));
    pd.cache.release();
  }

  const pool = gpu.pool.stats();
  const results = {
    model: `${MODEL} shape (random weights, ${WEIGHTS} linear weights)`,
    parameters: model.numParameters(),
    device: gpu.adapter.description,
    prefill: { tokens: PREFILL_T, seconds: p.seconds, tokensPerSecond: prefillTokensPerSecond },
    decode: { promptTokens: DECODE_PROMPT, steps: DECODE_STEPS, seconds: decodeSeconds, tokensPerSecond: decodeTokensPerSecond },
    peakGpuBytes: pool.peakBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    reference: { pytorchCpu2Threads: { prefillTokensPerSecond: 100, decodeTokensPerSecond: 3 }, goal: { prefillTokensPerSecond: 50, decodeTokensPerSecond: 10 } },
  };
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`${results.model}:`);
  console.log('| measure | value | goal |');
  console.log('|---|---|---|');
  console.log(`| prefill T=${PREFILL_T} | ${prefillTokensPerSecond.toFixed(1)} tok/s (${p.seconds.toFixed(2)} s) | >= 50 tok/s |`);
  console.log(`| decode after ${DECODE_PROMPT} tokens | ${decodeTokensPerSecond.toFixed(2)} tok/s (${DECODE_STEPS} steps) | >= 10 tok/s |`);
  console.log(`| peak GPU pool | ${mib(pool.peakBytes)} | |`);
  console.log(`| peak RSS | ${mib(results.peakRssBytes)} | |`);
  // npm runs scripts from the package root.
  const out = join(process.cwd(), 'bench', 'results', MODEL === 'opt-350m' ? 'model.json' : `model-${MODEL}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  model.dispose();
  gpu.destroy();
}

await main();
