/**
 * `npm run bench:train`: tokens/s and memory of full training steps (zero grads, forward, loss,
 * backward, global-norm clipping, AdamW, loss readback) of an OPT-350m-shaped model with random
 * weights, beside PyTorch (transformers' OPTForCausalLM, same config, shapes and steps) measured
 * in the same run by scripts/anchors/torch_opt.py, or "not measured" when python3 lacks torch or
 * transformers. Every step prints its time and the GPU pool, so that drift shows; the summary
 * gives the spread of step times and whether the pool stayed flat.
 *
 *   node dist/bench/train.js [--seq 256,512] [--batch 1] [--steps 10] [--config 350m|small|smollm2-135m|smollm2-360m|qwen2.5-0.5b]
 *       [--profile] [--no-anchor] [--anchor-device cpu|cuda] [--torch-threads 2] [--json PATH]
 *
 * `--config small` runs a 4-layer, 256-wide model instead, for a quick check of the harness.
 * `--profile` runs one more step per T with every dispatch timed on the GPU's clock
 * (Gpu.startProfiling) and prints where that step's time went, by kind of kernel.
 */
import { join } from 'node:path';
import { Gpu } from '../src/kernels/runtime/device.js';
import { configToJson } from '../src/model/opt/optConfig.js';
import type { AnyCausalLM } from '../src/model/autoModel.js';
import { OPTForCausalLM } from '../src/model/opt/opt.js';
import { AdamW } from '../src/train/optimizer/adamw.js';
import { GradClipper } from '../src/train/optimizer/clip.js';
import { anchorCell, ratioCell, runAnchor, type Anchor, type AnchorFacts } from './anchors.js';
import { formatProfile } from './harness.js';
import { formatHostFacts, hostFacts, withAnchorVersions } from './hostFacts.js';
import { benchModel, benchModelNames } from './modelShapes.js';
import { benchConfig } from './optShapes.js';
import { arg, writeJsonResult } from './results.js';
import { driftSummary, type StepSample } from './stepDrift.js';

interface Row {
  B: number;
  T: number;
  steps: StepSample[];
  tokensPerSecond: number;
  loss: number;
  gpuPeakBytes: number;
  rssPeakBytes: number;
}

interface TorchTrain extends AnchorFacts {
  rows: { B: number; T: number; step_seconds: number[]; tokens_per_second: number }[];
  rss_peak_bytes: number;
  cuda_peak_bytes?: number;
}

const GIB = 2 ** 30;

async function benchOne(gpu: Gpu, model: AnyCausalLM, optimizer: AdamW, clipper: GradClipper, B: number, T: number, steps: number, profile: boolean): Promise<Row> {
  const V = model.vocabSize;
  let x = 12345;
  const ids = Int32Array.from({ length: B * T }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % (V - 4)) + 4);
  const shape = [B, T] as const;
  const samples: StepSample[] = [];
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
    const made0 = gpu.bindGroupStats().misses;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await step(s);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const pool = gpu.pool.stats();
    const sample: StepSample = { seconds, cpuSeconds, poolBytes: pool.bytesInUse + pool.bytesPooled, buffers: pool.buffersInUse + pool.buffersPooled, bindGroupsMade: gpu.bindGroupStats().misses - made0 };
    if (s > 0) samples.push(sample);
    process.stderr.write(
      `  B=${B} T=${T} step ${s}${s === 0 ? ' (warm-up)' : ''}: ${seconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s), loss ${loss.toFixed(4)}, ` +
        `GPU pool ${(sample.poolBytes / GIB).toFixed(3)} GiB in ${sample.buffers} buffers, ${sample.bindGroupsMade} bind groups made\n`,
    );
  }
  if (profile) {
    const t0 = performance.now();
    gpu.startProfiling();
    await step(steps + 1);
    const kernels = await gpu.stopProfiling();
    process.stdout.write(formatProfile(`Profiled step at B=${B} T=${T}`, kernels, performance.now() - t0));
  }
  const mean = samples.reduce((a, b) => a + b.seconds, 0) / samples.length;
  return { B, T, steps: samples, tokensPerSecond: (B * T) / mean, loss, gpuPeakBytes: gpu.pool.stats().peakBytes, rssPeakBytes: process.resourceUsage().maxRSS * 1024 };
}

function table(rows: Row[], torch: Anchor<TorchTrain>, small: boolean): string[] {
  const torchRow = (r: Row) => (t: TorchTrain) => t.rows.find((x) => x.B === r.B && x.T === r.T)?.tokens_per_second;
  const torchPeak = (t: TorchTrain) => (t.cuda_peak_bytes ?? t.rss_peak_bytes) / GIB;
  const lines = [
    '',
    `| B x T | kiln tok/s | step (s) | step spread | kiln peak GPU pool (GiB) | process peak RSS (GiB) | PyTorch tok/s | ratio | PyTorch peak (GiB) |`,
    `|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const r of rows) {
    const d = driftSummary(r.steps);
    lines.push(
      `| ${r.B} x ${r.T} | ${r.tokensPerSecond.toFixed(1)} | ${d.meanSeconds.toFixed(2)} | ${(100 * d.spread).toFixed(1)}% | ${(r.gpuPeakBytes / GIB).toFixed(2)} | ` +
        `${(r.rssPeakBytes / GIB).toFixed(2)} | ${anchorCell(torch, torchRow(r))} | ${ratioCell(r.tokensPerSecond, torch, torchRow(r))} | ${anchorCell(torch, torchPeak, 2)} |`,
    );
  }
  if (small) lines.push('', '(--config small: a harness check, not OPT-350m)');
  if (!torch.measured) lines.push('', `PyTorch: not measured (${torch.reason})`);
  else lines.push('', `PyTorch: ${torch.result.anchor} on ${torch.result.device}, ${torch.result.threads} threads, float32, attention ${String((torch.result as { attention?: string }).attention)}`);
  return lines;
}

async function main(): Promise<void> {
  const seqs = arg('seq', '256,512').split(',').map(Number);
  const B = Number(arg('batch', '1'));
  const steps = Number(arg('steps', '10'));
  const configName = arg('config', '350m');
  // A Llama-family shape (bench/modelShapes.ts) is timed without an anchor: torch_opt.py builds OPT.
  const llama = benchModelNames.includes(configName) && configName !== 'opt-350m';
  const config = llama ? null : benchConfig(configName);
  if (!(steps >= 1 && B >= 1 && seqs.every((t) => t >= 2))) throw new Error('bench:train: --steps and --batch must be >= 1 and every --seq >= 2');
  const gpu = await Gpu.create();
  const rows: Row[] = [];
  let facts;
  try {
    process.stderr.write(`kiln bench:train on ${gpu.adapter.description}\n`);
    const model = config ? await OPTForCausalLM.fromConfig(config, { gpu, seed: 0 }) : await benchModel(configName, gpu, 'f32');
    model.train();
    const params = model.namedParameters();
    const optimizer = new AdamW(gpu, params, { lr: 5e-5, weightDecay: 0.0 });
    const clipper = new GradClipper(gpu, params.map(([, p]) => p), 1.0);
    process.stderr.write(`model: ${configName}, ${(model.numParameters() / 1e6).toFixed(1)}M parameters, random weights\n`);
    for (const T of seqs) rows.push(await benchOne(gpu, model, optimizer, clipper, B, T, steps, process.argv.includes('--profile')));
    clipper.release();
    optimizer.release();
    model.dispose();
    facts = hostFacts(gpu);
  } finally {
    gpu.destroy();
  }
  // After kiln's device is gone, so that on a real GPU both had the card to themselves.
  const torch: Anchor<TorchTrain> = process.argv.includes('--no-anchor')
    ? { measured: false, reason: '--no-anchor' }
    : config === null
      ? { measured: false, reason: 'the PyTorch anchor builds OPT models only' }
      : runAnchor<TorchTrain>('torch_opt.py', ['torch', 'transformers'], [
        'train', '--config', JSON.stringify(configToJson(config)), '--batch', String(B), '--seq', seqs.join(','), '--steps', String(steps),
        '--device', arg('anchor-device', 'cpu'), '--threads', arg('torch-threads', '2'),
      ]);
  facts = withAnchorVersions(facts!, [torch]);
  const lines = table(rows, torch, configName !== '350m');
  for (const r of rows) lines.push(`B=${r.B} T=${r.T}: ${driftSummary(r.steps).text}`);
  lines.push(`(${steps} timed steps per T after one warm-up; zero grads + forward + loss + backward + clip + AdamW + loss readback)`, formatHostFacts(facts));
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = arg('json', join(process.cwd(), 'bench', 'results', 'train.json'));
  writeJsonResult(out, { date: new Date().toISOString(), config: configName, host: facts, kiln: rows.map((r) => ({ ...r, drift: driftSummary(r.steps) })), torch });
}

await main();
