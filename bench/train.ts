/**
 * `npm run bench:train`: tokens/s and peak memory of one full training step (zero grads, forward,
 * loss, backward, global-norm clipping, AdamW, loss readback) of an OPT-350m-shaped model with
 * random weights, at B=1 and T=256 / 512. The reference is PyTorch on the same 2-core CPU
 * (2 threads): about 31 tok/s at T=256 and 39 at T=512, 8.2 GB peak; kiln's goal is at least half
 * that speed and no more memory.
 *
 *   node dist/bench/train.js [--seq 256,512] [--steps 3] [--config small] [--profile]
 *
 * `--config small` runs a 4-layer, 256-wide model instead, for a quick check of the harness;
 * `--model smollm2-135m|smollm2-360m|qwen2.5-0.5b` a Llama-family shape (bench/modelShapes.ts).
 * `--profile` runs one more step per T with every dispatch timed on the GPU's clock
 * (Gpu.startProfiling) and prints where that step's time went, by kind of kernel.
 */
import { Gpu } from '../src/kernels/device.js';
import { optConfig, type OptConfig } from '../src/model/config.js';
import { OPTForCausalLM } from '../src/model/opt.js';
import { AdamW } from '../src/train/adamw.js';
import { GradClipper } from '../src/train/clip.js';
import type { AnyCausalLM } from '../src/model/autoModel.js';
import { formatProfile } from './harness.js';
import { benchModel } from './modelShapes.js';

const PYTORCH: Record<number, { tokensPerSecond: number; peakGB: number }> = {
  256: { tokensPerSecond: 31, peakGB: 8.2 },
  512: { tokensPerSecond: 39, peakGB: 8.2 },
};

/** facebook/opt-350m's config.json (post-LN, 512-wide embeddings projected to 1024). */
const OPT_350M: Partial<OptConfig> = {
  vocabSize: 50272,
  hiddenSize: 1024,
  numHiddenLayers: 24,
  numAttentionHeads: 16,
  ffnDim: 4096,
  maxPositionEmbeddings: 2048,
  wordEmbedProjDim: 512,
  doLayerNormBefore: false,
  dropout: 0.1,
};

const SMALL: Partial<OptConfig> = { vocabSize: 50272, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, ffnDim: 1024, maxPositionEmbeddings: 2048 };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

interface Row {
  T: number;
  stepSeconds: number[];
  tokensPerSecond: number;
  loss: number;
  gpuPeakBytes: number;
  rssPeakBytes: number;
}

async function benchOne(gpu: Gpu, model: AnyCausalLM, optimizer: AdamW, clipper: GradClipper, T: number, steps: number, profile: boolean): Promise<Row> {
  const V = model.vocabSize;
  let x = 12345;
  const ids = Int32Array.from({ length: T }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % (V - 4) + 4);
  const shape = [1, T] as const;
  const times: number[] = [];
  let loss = NaN;
  const step = async (s: number) => {
    optimizer.zeroGrad();
    const out = model.forward({ inputIds: { data: ids, shape }, labels: { data: ids, shape }, dropoutSeed: s });
    out.loss!.backward();
    clipper.clip();
    optimizer.step({ lr: 5e-5, gradScale: clipper.coefficient });
    loss = await out.loss!.item();
    out.loss!.release();
  };
  // One warm-up step compiles the pipelines and fills the buffer pool; it is not timed.
  for (let s = 0; s <= steps; s++) {
    const t0 = performance.now();
    await step(s);
    if (s > 0) times.push((performance.now() - t0) / 1000);
    process.stderr.write(`  T=${T} step ${s}${s === 0 ? ' (warm-up)' : ''}: ${((performance.now() - t0) / 1000).toFixed(2)} s, loss ${loss.toFixed(4)}\n`);
  }
  if (profile) {
    const t0 = performance.now();
    gpu.startProfiling();
    await step(steps + 1);
    const kernels = await gpu.stopProfiling();
    process.stdout.write(formatProfile(`Profiled step at T=${T}`, kernels, performance.now() - t0));
  }
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { T, stepSeconds: times, tokensPerSecond: T / mean, loss, gpuPeakBytes: gpu.pool.stats().peakBytes, rssPeakBytes: peakRssBytes() };
}

async function main(): Promise<void> {
  const seqs = arg('seq', '256,512').split(',').map(Number);
  const steps = Number(arg('steps', '3'));
  const small = arg('config', '350m') === 'small';
  const profile = process.argv.includes('--profile');
  const config = optConfig(small ? SMALL : OPT_350M);
  const gpu = await Gpu.create();
  try {
    process.stderr.write(`kiln bench:train on ${gpu.adapter.description}\n`);
    const name = arg('model', 'opt-350m');
    const model = small || name === 'opt-350m' ? await OPTForCausalLM.fromConfig(config, { gpu, seed: 0 }) : await benchModel(name, gpu, 'f32');
    model.train();
    const params = model.namedParameters();
    const optimizer = new AdamW(gpu, params, { lr: 5e-5, weightDecay: 0.0 });
    const clipper = new GradClipper(gpu, params.map(([, p]) => p), 1.0);
    process.stderr.write(`model: ${small ? 'small' : `${name} shape`}, ${(model.numParameters() / 1e6).toFixed(1)}M parameters, random weights\n`);
    const rows: Row[] = [];
    for (const T of seqs) rows.push(await benchOne(gpu, model, optimizer, clipper, T, steps, profile));

    const gib = (b: number) => (b / 2 ** 30).toFixed(2);
    const lines = [
      '',
      `| B x T | kiln tok/s | step (s) | kiln peak GPU pool (GiB) | process peak RSS (GiB) | PyTorch CPU tok/s | ratio | PyTorch peak (GB) |`,
      `|---|---|---|---|---|---|---|---|`,
    ];
    for (const r of rows) {
      // PyTorch's figures were measured on OPT-350m only.
      const ref = name === 'opt-350m' ? PYTORCH[r.T] : undefined;
      const mean = r.stepSeconds.reduce((a, b) => a + b, 0) / r.stepSeconds.length;
      lines.push(
        `| 1 x ${r.T} | ${r.tokensPerSecond.toFixed(1)} | ${mean.toFixed(2)} | ${gib(r.gpuPeakBytes)} | ${gib(r.rssPeakBytes)} | ` +
          `${ref ? ref.tokensPerSecond : '–'} | ${ref && !small ? `${(r.tokensPerSecond / ref.tokensPerSecond).toFixed(2)}x` : '–'} | ${ref ? ref.peakGB : '–'} |`,
      );
    }
    lines.push('', `(${steps} timed steps after one warm-up; zero grads + forward + loss + backward + clip + AdamW + loss readback)`);
    process.stdout.write(`${lines.join('\n')}\n`);
    clipper.release();
    optimizer.release();
    model.dispose();
  } finally {
    gpu.destroy();
  }
}

await main();
