/**
 * `npm run bench:model`: an OPT-350m-shaped model with random weights (HF's init, seeded):
 * prefill tokens/s for a 512-token prompt (through the KV cache, as generation runs it, up to the
 * last position's logits on the host), decode tokens/s after a 128-token prompt (one token per
 * step, each step's [1, V] logits read back and argmaxed on the host), and peak memory; beside
 * PyTorch doing the same (scripts/anchors/torch_opt.py, same config) in the same run, or "not
 * measured" when python3 lacks torch or transformers. The goal on lavapipe is >= 50 tok/s prefill
 * and >= 10 decode. With `--profile`, one more prefill and up to 8 decode steps run with every
 * dispatch timed on the GPU's clock (Gpu.startProfiling), and the time per kind of kernel is
 * printed.
 *
 *   node dist/bench/model.js [--config 350m|small|smollm2-135m|smollm2-360m|qwen2.5-0.5b] [--profile] [--no-anchor] [--anchor-device cpu|cuda] [--torch-threads 2] [--json PATH]
 */
import { join } from 'node:path';
import { Gpu } from '../src/kernels/runtime/device.js';
import { configToJson } from '../src/model/opt/optConfig.js';
import { chooseToken } from '../src/model/generate.js';
import type { AnyCausalLM } from '../src/model/autoModel.js';
import type { KVCache } from '../src/model/kvCache.js';
import { OPTForCausalLM } from '../src/model/opt/opt.js';
import { SeededRandom } from '../src/model/random.js';
import { anchorCell, ratioCell, runAnchor, type Anchor, type AnchorFacts } from './anchors.js';
import { formatProfile } from './harness.js';
import { formatHostFacts, hostFacts, withAnchorVersions } from './hostFacts.js';
import { benchModel, benchModelNames } from './modelShapes.js';
import { benchConfig } from './optShapes.js';
import { arg, writeJsonResult } from './results.js';

const PREFILL_T = Number(process.env.KILN_BENCH_PREFILL ?? 512);
const DECODE_PROMPT = 128;
const DECODE_STEPS = Number(process.env.KILN_BENCH_DECODE_STEPS ?? 32);
// 'f16': the linear layers' weights stored as halves (inference-only models; see LoadOptions).
const WEIGHTS = process.env.KILN_BENCH_WEIGHTS === 'f16' ? 'f16' : 'f32';

// `--config small` (a 4-layer, 256-wide model): gpu-check's quick mode on a CPU driver. A
// Llama-family shape (bench/modelShapes.ts) is timed without an anchor: torch_opt.py builds OPT.
const configName = arg('config', '350m');
const llama = benchModelNames.includes(configName) && configName !== 'opt-350m';
const config = llama ? null : benchConfig(configName);

interface TorchModel extends AnchorFacts {
  prefill: { tokens_per_second: number };
  decode: { tokens_per_second: number };
  rss_peak_bytes: number;
  cuda_peak_bytes?: number;
}

function randomPrompt(T: number, seed: number, V: number): Int32Array {
  const rng = new SeededRandom(seed);
  return Int32Array.from({ length: T }, (_, t) => (t === 0 ? 2 : 3 + Math.floor(rng.next() * (V - 3))));
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
  const model = config ? await OPTForCausalLM.fromConfig(config, { gpu, seed: 1, weightsDtype: WEIGHTS }) : await benchModel(configName, gpu, WEIGHTS);
  const initSeconds = (performance.now() - t0) / 1000;
  const numParameters = model.numParameters();
  process.stderr.write(`kiln bench: ${numParameters.toLocaleString()} parameters initialised in ${initSeconds.toFixed(1)} s on ${gpu.adapter.description}\n`);

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
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const facts = hostFacts(gpu);
  model.dispose();
  gpu.destroy();
  // After kiln's device is gone, so that on a real GPU each had the card to itself.
  const torch: Anchor<TorchModel> = process.argv.includes('--no-anchor')
    ? { measured: false, reason: '--no-anchor' }
    : config === null
      ? { measured: false, reason: 'the PyTorch anchor builds OPT models only' }
      : runAnchor<TorchModel>('torch_opt.py', ['torch', 'transformers'], [
        'model', '--config', JSON.stringify(configToJson(config)), '--prefill', String(PREFILL_T), '--decode-prompt', String(DECODE_PROMPT),
        '--decode-steps', String(DECODE_STEPS), '--device', arg('anchor-device', 'cpu'), '--threads', arg('torch-threads', '2'),
      ]);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const torchPrefill = (t: TorchModel) => t.prefill.tokens_per_second;
  const torchDecode = (t: TorchModel) => t.decode.tokens_per_second;
  const lines = [
    `${configName === '350m' ? 'OPT-350m shape' : `${configName} config (not OPT-350m)`} (random weights, ${WEIGHTS} linear weights):`,
    '| measure | kiln | PyTorch | ratio | goal |',
    '|---|---|---|---|---|',
    `| prefill T=${PREFILL_T} (tok/s) | ${prefillTokensPerSecond.toFixed(1)} (${p.seconds.toFixed(2)} s) | ${anchorCell(torch, torchPrefill)} | ${ratioCell(prefillTokensPerSecond, torch, torchPrefill)} | >= 50 |`,
    `| decode after ${DECODE_PROMPT} tokens (tok/s, ${DECODE_STEPS} steps) | ${decodeTokensPerSecond.toFixed(2)} | ${anchorCell(torch, torchDecode, 2)} | ${ratioCell(decodeTokensPerSecond, torch, torchDecode)} | >= 10 |`,
    `| peak memory | GPU pool ${mib(pool.peakBytes)}, RSS ${mib(peakRssBytes)} | ${torch.measured ? mib(torch.result.cuda_peak_bytes ?? torch.result.rss_peak_bytes) : 'not measured'} | | |`,
    '',
    torch.measured ? `PyTorch: ${torch.result.anchor} on ${torch.result.device}, ${torch.result.threads} threads, float32` : `PyTorch: not measured (${torch.reason})`,
    formatHostFacts(withAnchorVersions(facts, [torch])),
  ];
  console.log(lines.join('\n'));
  writeJsonResult(arg('json', join(process.cwd(), 'bench', 'results', 'model.json')), {
    date: new Date().toISOString(),
    model: `${configName} (random weights, ${WEIGHTS} linear weights)`,
    parameters: numParameters,
    host: withAnchorVersions(facts, [torch]),
    prefill: { tokens: PREFILL_T, seconds: p.seconds, tokensPerSecond: prefillTokensPerSecond },
    decode: { promptTokens: DECODE_PROMPT, steps: DECODE_STEPS, seconds: decodeSeconds, tokensPerSecond: decodeTokensPerSecond },
    peakGpuBytes: pool.peakBytes,
    peakRssBytes,
    torch,
  });
}

await main();
