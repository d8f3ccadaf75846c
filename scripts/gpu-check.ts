/**
 * `npm run gpu-check`: everything a GPU machine should be asked, in one go, within 8 minutes on an
 * H100 (twice inside a 15-minute lease, start-up included): the adapter Dawn finds, the kernel
 * property tests and the golden tests on it, bench:kernels (beside torch's fp32 and fp16 matmuls
 * when torch sees CUDA), bench:train for OPT-350m at B=8 T=1024 beside PyTorch eager fp32 on the
 * same card, and bench:model. Writes gpu-check.json and gpu-check.md under `--out` (default
 * gpu-check-results/<time>).
 *
 *   node dist/scripts/gpu-check.js [--out DIR] [--quick] [--allow-software] [--budget 480]
 *
 * `--quick` is the dry run for a CPU driver (lavapipe): the same stages on small shapes (the small
 * config, T=64, two matmul test files). Each stage runs in its own process with a time limit taken
 * from what is left of `--budget` seconds, so one that hangs cannot eat the others' time. On a
 * machine with an NVIDIA card whose Vulkan driver Dawn cannot reach, it stops at once and says
 * what is missing (DEVELOPERS.md: running on a GPU machine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, writeJsonResult, writeTextResult } from '../bench/results.js';
import { formatReport, type StageResult } from './gpuCheckReport.js';
import { findVulkan, type VulkanFindings } from './vulkanLoader.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');

interface Stage {
  name: string;
  /** Most seconds it may take out of the budget (full mode). */
  cap: number;
  command: string[];
  env?: Record<string, string>;
  /** The JSON result the stage writes, read into the report. */
  json?: string;
}

function stages(out: string, quick: boolean, cudaAnchor: boolean): Stage[] {
  const node = process.execPath;
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const tests = quick
    ? ['test/kernels/matmul.test.ts', 'test/model/golden.test.ts']
    : ['test/kernels', 'test/autograd', 'test/model/golden.test.ts'];
  const anchorDevice = cudaAnchor ? 'cuda' : 'cpu';
  return [
    {
      name: 'kernel property tests and golden tests',
      cap: 150,
      command: [node, vitest, 'run', ...tests, '--reporter=default', '--reporter=json', `--outputFile.json=${join(out, 'tests.json')}`],
      json: join(out, 'tests.json'),
    },
    {
      name: 'bench:kernels',
      cap: 100,
      command: [node, join(DIST, 'bench', 'kernels.js'), '--json', join(out, 'kernels.json'), ...(quick ? ['--families', 'matmul'] : [])],
      json: join(out, 'kernels.json'),
    },
    {
      name: 'bench:train',
      cap: 160,
      command: [
        node, join(DIST, 'bench', 'train.js'), '--json', join(out, 'train.json'), '--anchor-device', anchorDevice,
        ...(quick ? ['--config', 'small', '--batch', '1', '--seq', '64', '--steps', '3'] : ['--config', '350m', '--batch', '8', '--seq', '1024', '--steps', '3']),
      ],
      json: join(out, 'train.json'),
    },
    {
      name: 'bench:model',
      cap: 60,
      command: [node, join(DIST, 'bench', 'model.js'), '--json', join(out, 'model.json'), '--anchor-device', anchorDevice, ...(quick ? ['--config', 'small'] : [])],
      env: quick ? { KILN_BENCH_PREFILL: '64', KILN_BENCH_DECODE_STEPS: '4' } : {},
      json: join(out, 'model.json'),
    },
  ];
}

/** The adapter Dawn picks, asked in a child process with the environment the stages will get. */
function probeAdapter(env: NodeJS.ProcessEnv): { adapter?: Record<string, unknown>; error?: string } {
  const code = `const { Gpu } = await import(${JSON.stringify(join(DIST, 'src', 'kernels', 'device.js'))}); const g = await Gpu.create(); console.log(JSON.stringify(g.adapter)); g.destroy();`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env, timeout: 60_000 });
  if (run.status !== 0) return { error: (run.stderr || run.error?.message || `exit ${run.status}`).trim().split('\n').slice(-3).join(' ') };
  return { adapter: JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown> };
}

function cudaAvailable(): boolean {
  const run = spawnSync(process.env.KILN_PYTHON ?? 'python3', ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'], { timeout: 60_000 });
  return run.status === 0;
}

function runStage(stage: Stage, env: NodeJS.ProcessEnv, seconds: number): StageResult {
  process.stderr.write(`\n== gpu-check: ${stage.name} (limit ${seconds.toFixed(0)} s) ==\n`);
  const t0 = performance.now();
  const run = spawnSync(stage.command[0]!, stage.command.slice(1), { cwd: ROOT, env: { ...env, ...stage.env }, stdio: ['ignore', 'inherit', 'inherit'], timeout: Math.round(seconds * 1000), killSignal: 'SIGKILL' });
  const elapsed = (performance.now() - t0) / 1000;
  const timedOut = run.error !== undefined && /ETIMEDOUT/.test(String(run.error)) ? true : run.signal === 'SIGKILL';
  let result: unknown = null;
  if (stage.json && existsSync(stage.json)) {
    try {
      result = JSON.parse(readFileSync(stage.json, 'utf8'));
    } catch (e) {
      result = { unreadable: (e as Error).message };
    }
  }
  const status = timedOut ? 'timed out' : run.status === 0 ? 'passed' : `failed (exit ${run.status ?? run.signal})`;
  process.stderr.write(`== ${stage.name}: ${status} in ${elapsed.toFixed(0)} s ==\n`);
  return { name: stage.name, status, seconds: elapsed, command: stage.command.slice(1).map((c) => c.replace(ROOT, '.')).join(' '), result };
}

function stop(out: string, findings: VulkanFindings, message: string): never {
  writeJsonResult(join(out, 'gpu-check.json'), { date: new Date().toISOString(), vulkan: findings, stopped: message });
  process.stderr.write(`gpu-check: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const out = resolve(arg('out', join(ROOT, 'gpu-check-results', new Date().toISOString().replace(/[:.]/g, '-'))));
  const budget = Number(arg('budget', quick ? '3600' : '480'));
  const started = performance.now();
  const findings = findVulkan(out);
  for (const n of findings.notes) process.stderr.write(`gpu-check: ${n}\n`);
  if (findings.problems.length > 0) stop(out, findings, `Dawn cannot reach a GPU through Vulkan:\n  - ${findings.problems.join('\n  - ')}\n(see DEVELOPERS.md, "Running on a GPU machine")`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...findings.env };
  const probe = probeAdapter(env);
  if (!probe.adapter) stop(out, findings, `no WebGPU adapter: ${probe.error}`);
  const adapter = probe.adapter;
  process.stderr.write(`gpu-check: adapter ${String(adapter.description)} (${String(adapter.vendor)}, ${String(adapter.architecture)})\n`);
  if (adapter.isSoftware && findings.nvidiaSmi && !process.argv.includes('--allow-software')) {
    stop(out, findings, `nvidia-smi sees "${findings.nvidiaSmi}" but Dawn picked the software adapter ${String(adapter.description)}: the NVIDIA Vulkan ICD is not reachable (found manifests: ${findings.icds.join(', ') || 'none'})`);
  }
  const cuda = cudaAvailable();
  const results: StageResult[] = [];
  for (const stage of stages(out, quick, cuda)) {
    const left = budget - (performance.now() - started) / 1000;
    if (left < 10) {
      results.push({ name: stage.name, status: 'skipped (budget spent)', seconds: 0, command: '', result: null });
      continue;
    }
    results.push(runStage(stage, env, quick ? left : Math.min(stage.cap, left)));
  }
  const report = { date: new Date().toISOString(), quick, budgetSeconds: budget, seconds: (performance.now() - started) / 1000, adapter, cudaAnchor: cuda, vulkan: findings, stages: results };
  writeJsonResult(join(out, 'gpu-check.json'), report);
  const md = formatReport(report);
  writeTextResult(join(out, 'gpu-check.md'), md);
  process.stdout.write(`\n${md}`);
  if (results.some((r) => r.status !== 'passed')) process.exitCode = 1;
}

await main();
