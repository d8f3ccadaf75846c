/**
 * A tiny Llama-family model through the real commands: `node train.js --model <dir>` trains it on
 * ToolLLaMA conversations rendered through its chat template (loss on the assistant turns), and
 * `node eval.js --model <checkpoint>` runs the agent loop on it, prompting through the same
 * template. The model is random (its answers are not expected to solve anything): what is checked
 * is that both commands run end to end, that training lowers the loss, and that what they write
 * is a Llama checkpoint and an evaluation record.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueryResult, RESULTS_FILE } from '../../src/eval/report/results.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { listCheckpoints } from '../../src/train/checkpoints.js';
import { readMetrics } from '../../src/train/metrics.js';
import { repoRoot } from '../helpers/shared.js';
import { writeTinyLlama } from '../helpers/tinyLlama.js';
import { tinyConversations } from './tinyRun.js';

const work = mkdtempSync(join(tmpdir(), 'kiln-llama-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  // The commands run the built library; build it so they never run stale JavaScript.
  spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'ignore' });
  expect(existsSync(join(repoRoot, 'dist', 'src', 'train', 'cli.js'))).toBe(true);
}, 300_000);

/** Runs a command; `output` is its stdout and stderr together. */
function run(script: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot, script), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

/** One query in ToolBench's test-file form, for the offline simulator. */
function writeQueries(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const query = {
    query: 'What is the weather in Oslo?',
    query_id: 1,
    api_list: [{ category_name: 'Weather', tool_name: 'Weather', api_name: 'get_weather', api_description: 'Weather for a city', required_parameters: [{ name: 'city', type: 'string', description: '', default: '' }], optional_parameters: [], method: 'GET' }],
    'relevant APIs': [['Weather', 'get_weather']],
  };
  writeFileSync(join(dir, 'G1_instruction.json'), JSON.stringify([query]));
  return dir;
}

describe('a tiny Llama-family model end to end', () => {
  it('trains with node train.js through its chat template, and evaluates with node eval.js', async () => {
    const modelDir = writeTinyLlama(join(work, 'init'));
    const dataPath = join(work, 'train.json');
    writeFileSync(dataPath, JSON.stringify(tinyConversations(8)));
    const out = join(work, 'run');
    const trained = await run('train.js', ['--model', modelDir, '--data', dataPath, '--out', out, '--batch-size', '2', '--max-steps', '12', '--save-steps', '12', '--lr', '3e-3', '--seed', '1']);
    expect(trained.code, trained.output).toBe(0);
    expect(trained.output).toContain("rendering the data through the llama tokenizer's chat template");
    const losses = readMetrics(join(out, 'metrics.jsonl')).map((m) => m.loss);
    expect(losses).toHaveLength(12);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    const checkpoint = listCheckpoints(out).at(-1)!.dir;
    expect(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')).model_type).toBe('llama');
    expect(Tokenizer.fromDir(checkpoint).chatTemplate).not.toBeNull();

    const evalOut = join(work, 'eval');
    const evaluated = await run('eval.js', ['--model', checkpoint, '--queries', writeQueries(join(work, 'queries')), '--env', 'offline', '--max-steps', '2', '--max-new-tokens', '24', '--out', evalOut, '--no-baselines']);
    expect(evaluated.code, evaluated.output).toBe(0);
    // One judged trajectory for the one query, whose model turns came from the trained checkpoint.
    const results = readFileSync(join(evalOut, RESULTS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QueryResult);
    expect(results.map((r) => [r.category, r.query_id])).toEqual([['G1_instruction', 1]]);
    expect(JSON.stringify(results[0]!.trajectory).length).toBeGreaterThan(0);
  }, 600_000);
});
