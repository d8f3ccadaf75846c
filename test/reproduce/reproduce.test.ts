/**
 * `npm run reproduce` end to end on stand-ins: a 127.0.0.1 hub serving a tiny OPT as
 * facebook/opt-350m, a tiny ToolBench-format data set made here, and (when present) the shared
 * ToolBench sample. Few steps and few queries keep it short; lavapipe runs it with --allow-cpu.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReproduceCli, STATE_FILE } from '../../src/reproduce/index.js';
import { FITTING_POLICY_FILE } from '../../src/toolbench/fitting.js';
import { repoRoot, skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';
import { writeTinyOpt } from '../train/tinyRun.js';
import { GROUPS, serveHub, STAND_IN_TEMPLATE, writeStandInData, type StandInHub } from './standIns.js';

let root: string;
let hub: StandInHub;
let data: { train: string; queries: string };
const savedEnv = { HF_ENDPOINT: process.env.HF_ENDPOINT, KILN_CACHE_DIR: process.env.KILN_CACHE_DIR };

function captureIo() {
  const io = { out: '', err: '' };
  return {
    io,
    streams: {
      stdout: (t: string) => void (io.out += t),
      stderr: { write: (t: string) => ((io.err += t), true), isTTY: false } as unknown as NodeJS.WritableStream,
    },
  };
}

async function reproduce(args: string[]) {
  const { io, streams } = captureIo();
  const code = await runReproduceCli(args, streams);
  return { code, ...io };
}

/** `node reproduce.js ...` as a child process; asynchronous, so this process's stand-in hub keeps answering. */
function frontDoor(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['reproduce.js', ...args], { cwd: repoRoot, env: { ...process.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kiln-reproduce-'));
  const made = writeStandInData(join(root, 'data'));
  data = made;
  const modelDir = writeTinyOpt(join(root, 'hub-files'), made.texts, { vocabSize: 420, positions: 512, dropout: 0, seed: 7 });
  hub = await serveHub('facebook/opt-350m', modelDir);
  process.env.HF_ENDPOINT = hub.url;
  process.env.KILN_CACHE_DIR = join(root, 'cache');
});

afterAll(async () => {
  await hub.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(root, { recursive: true, force: true });
});

const smoke = ['--allow-cpu', '--min-free-gb', '0', '--max-steps', '2', '--save-steps', '1', '--limit', '1', '--max-new-tokens', '8', '--eval-steps', '1', '--grad-accum', '2'];

describe('reproduce on stand-ins', () => {
  it('downloads, prints the pre-flight, trains, evaluates six groups, writes the table; a rerun skips every stage', async () => {
    const out = join(root, 'run');
    const args = ['--train', data.train, '--queries', data.queries, '--out', out, '--fitting', 'compact,desc=32', ...smoke];
    const first = await reproduce(args);
    expect(first.err + first.out, first.err).toMatch(/results\.md/);
    expect(first.code).toBe(0);
    expect(hub.requests).toContain('/facebook/opt-350m/resolve/main/model.safetensors');
    // The pre-flight, training side and evaluation side, both with the chosen fitting policy.
    expect(first.out).toMatch(/length pre-flight: training examples in 512 positions .*fitting policy compact,desc=32/);
    expect(first.out).toMatch(/length pre-flight: evaluation queries in 512 positions .*fitting policy compact,desc=32/);
    for (const group of GROUPS) expect(first.out).toMatch(new RegExp(`\\n  ${group} +1 +1 \\(100\\.0%\\) +0 `));
    // train.js prints its own pre-flight in its data report; eval.js prints its own before the run.
    expect(first.out).toMatch(/length histogram:[\s\S]*\nlength pre-flight: training examples in 512 positions/);
    expect(first.err).toMatch(/length pre-flight: evaluation queries in 512 positions[\s\S]*\nevaluating 6 queries/);

    const state = JSON.parse(readFileSync(join(out, STATE_FILE), 'utf8')) as { stages: Record<string, { output: string }> };
    expect(Object.keys(state.stages)).toEqual(['download', 'preflight', 'train', 'eval', 'table']);
    const checkpoint = state.stages.train!.output;
    expect(checkpoint).toMatch(/checkpoint-2$/);
    expect(first.out).toContain('--preset paper --fitting compact,desc=32 --prompt-template');
    expect(first.out).toMatch(/micro-batches of 4 per epoch, 2 per step/);
    // The policy and the template travel with the checkpoint, and the evaluation used them.
    expect(JSON.parse(readFileSync(join(checkpoint, FITTING_POLICY_FILE), 'utf8')).policy).toBe('compact,desc=32');
    expect(readFileSync(join(checkpoint, 'kiln_prompt_template.txt'), 'utf8')).toBe(STAND_IN_TEMPLATE);
    expect(JSON.parse(readFileSync(join(out, 'eval', 'run.json'), 'utf8')).fitting).toBe('compact,desc=32');
    const summary = JSON.parse(readFileSync(join(out, 'eval', 'summary.json'), 'utf8'));
    expect(summary.categories.map((c: { category: string }) => c.category)).toEqual(GROUPS);
    expect(summary.preflight.fitting).toBe('compact,desc=32');
    expect(readFileSync(join(out, 'eval', 'report.md'), 'utf8')).toContain('## Length pre-flight');
    expect(JSON.parse(readFileSync(join(out, 'train', 'data_report.json'), 'utf8')).preflight.rows[0]).toMatchObject({ items: 16, fit: 16 });

    const results = readFileSync(join(out, 'results.md'), 'utf8');
    expect(results).toContain('| model | G1_instr | G1_cat | G1_tool | G2_cat | G2_instr | G3_instr | Avg |');
    expect(results).toContain('arXiv:2512.15943');
    // The paper's layout: this run's row per group, the study's averages beside it.
    expect(results).toMatch(/\| kiln model .*checkpoint-2 \|( [\d.]+ \[[\d.]+, [\d.]+\] \|){7}/);
    expect(results).toMatch(/\| \*OPT-350m SFT \(the study\).*\| \*77\.55\* \|/);
    expect(results).toMatch(/\| \*ChatGPT-CoT .*\| \*26\.00\* \|/);
    expect(results).toMatch(/\| \*ToolLLaMA-DFS .*\| \*30\.18\* \|/);

    const requestsBefore = hub.requests.length;
    const again = await reproduce(args);
    expect(again.code).toBe(0);
    for (const stage of ['download', 'preflight', 'train', 'eval', 'table']) expect(again.out).toContain(`${stage}: done earlier`);
    expect(hub.requests.length).toBe(requestsBefore);
    expect(again.out).toMatch(/length pre-flight: evaluation queries/);
  }, 600_000);

  it('resumes an interrupted evaluation from its stored results and refuses changed settings', async () => {
    const out = join(root, 'run');
    const statePath = join(out, STATE_FILE);
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    delete state.stages.eval;
    delete state.stages.table;
    writeFileSync(statePath, JSON.stringify(state));
    const lines = readFileSync(join(out, 'eval', 'trajectories.jsonl'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(out, 'eval', 'trajectories.jsonl'), `${lines.slice(0, 4).join('\n')}\n`);
    const args = ['--train', data.train, '--queries', data.queries, '--out', out, '--fitting', 'compact,desc=32', ...smoke];
    const resumed = await reproduce(args);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain('train: done earlier');
    expect(resumed.err).toContain('resumed: 4 queries already had results');
    expect(readFileSync(join(out, 'eval', 'trajectories.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(6);

    const changed = await reproduce([...args.filter((a) => a !== 'compact,desc=32' && a !== '--fitting')]);
    expect(changed.code).toBe(1);
    expect(changed.err).toMatch(/other settings \(fitting differ\)/);
  }, 600_000);

  it('runs through its front door, reproduce.js (what npm run reproduce runs after the build)', async () => {
    const out = join(root, 'front-door');
    const run = await frontDoor(['--train', data.train, '--queries', data.queries, '--out', out, '--fitting', 'compact,desc=32', ...smoke, '--max-steps', '1']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/length pre-flight: evaluation queries in 512 positions/);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| model | G1_instr | G1_cat | G1_tool | G2_cat | G2_instr | G3_instr | Avg |');
    // ToolBench's rendering does not fit the stand-in's 512 positions: the pre-flight says so and stops before training.
    const tooLong = await frontDoor(['--train', data.train, '--queries', data.queries, '--out', join(root, 'front-door-long'), ...smoke]);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stdout).toMatch(/\n  train\.json +16 +0 \(0\.0%\) +16 /);
    expect(tooLong.stderr).toMatch(/no training example leaves room .* fitting policy toolbench; choose a shorter --fitting/);
    expect(existsSync(join(root, 'front-door-long', 'train'))).toBe(false);
    const refused = await frontDoor(['--out', join(root, 'front-door-none')]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/cannot start; missing:/);
  }, 600_000);

  it('stops before any work when the data is missing or the only adapter is software, saying what and how', async () => {
    const before = hub.requests.length;
    const noData = await reproduce(['--out', join(root, 'none'), '--allow-cpu', '--min-free-gb', '0']);
    expect(noData.code).toBe(3);
    expect(noData.err).toMatch(/the ToolBench data: pass --data <dir>/);
    const noGpu = await reproduce(['--train', data.train, '--queries', data.queries, '--out', join(root, 'cpu'), '--min-free-gb', '0']);
    expect(noGpu.code).toBe(3);
    expect(noGpu.err).toMatch(/a GPU: the only adapter is the software renderer .*--allow-cpu/);
    const noDisk = await reproduce(['--train', data.train, '--queries', join(root, 'missing'), '--out', join(root, 'disk'), '--allow-cpu', '--min-free-gb', '999999999']);
    expect(noDisk.code).toBe(3);
    expect(noDisk.err).toMatch(/test queries .*missing: no such folder/);
    expect(noDisk.err).toMatch(/disk space: .* GB needed/);
    expect(hub.requests.length).toBe(before);
    expect(existsSync(join(root, 'cpu'))).toBe(false);
  }, 120_000);
});

describe('reproduce on the shared ToolBench sample', () => {
  it.skipIf(toolbenchDir === null)(`trains on train-sample's answer trees and evaluates the six test groups ${toolbenchDir === null ? skipReasonNoToolbench : ''}`, async () => {
    const sample = JSON.parse(readFileSync(join(toolbenchDir!, 'prompts', 'examples', 'toolllama_preprocessed_all_train_sample.json'), 'utf8')) as {
      conversations: { value: string }[];
    }[];
    const modelDir = writeTinyOpt(join(root, 'shared-files'), sample.slice(0, 12).flatMap((c) => c.conversations.map((t) => t.value)), {
      vocabSize: 1200,
      positions: 2048,
      dropout: 0,
      seed: 7,
    });
    const sharedHub = await serveHub('facebook/opt-350m', modelDir);
    process.env.HF_ENDPOINT = sharedHub.url;
    process.env.KILN_CACHE_DIR = join(root, 'shared-cache');
    try {
      const out = join(root, 'shared-run');
      const run = await reproduce([
        '--train', join(toolbenchDir!, 'train-sample', 'answer'),
        '--queries', join(toolbenchDir!, 'test'),
        '--out', out,
        '--fitting', 'compact,desc=32,no-examples',
        ...smoke,
      ]);
      expect(run.code, run.err).toBe(0);
      // The template came from the answer trees' own system prompts: ToolBench's.
      expect(readFileSync(join(out, 'prompt_template.txt'), 'utf8')).toBe(readFileSync(join(toolbenchDir!, 'prompts', 'toolllama_system_prompt.txt'), 'utf8'));
      expect(run.out).toMatch(/\n  G1_answer +\d+ /);
      const summary = JSON.parse(readFileSync(join(out, 'eval', 'summary.json'), 'utf8'));
      expect(summary.categories.map((c: { category: string }) => c.category)).toEqual(GROUPS);
      expect(summary.preflight.rows.at(-1)).toMatchObject({ group: 'all', items: 6 });
    } finally {
      await sharedHub.close();
      process.env.HF_ENDPOINT = hub.url;
      process.env.KILN_CACHE_DIR = join(root, 'cache');
    }
  }, 600_000);
});
