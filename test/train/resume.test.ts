/**
 * Kill and resume with the real command: `node train.js` on a tiny model, SIGKILLed right after a
 * checkpoint appears, then `--resume`d; its per-step losses (and learning rates and gradient norms)
 * must equal, exactly, those of a run that was never interrupted. Dropout is on, the run crosses an
 * epoch boundary and accumulates gradients, so the data cursor, the RNG and the optimizer state
 * all have to come back exactly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/train/checkpoints.js';
import { readMetrics } from '../../src/train/metrics.js';
import { repoRoot } from '../helpers/shared.js';
import { writeTinyRun } from './tinyRun.js';

const work = mkdtempSync(join(tmpdir(), 'kiln-resume-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Source files newer than their build output, so a plain `vitest run` never tests stale JavaScript. */
function staleSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((src) => {
      const out = join(repoRoot, 'dist', relative(repoRoot, src)).replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
}

beforeAll(() => {
  if (staleSources(join(repoRoot, 'src')).length > 0) {
    // tsc emits even when another file has a type error; the run below only needs dist/src.
    spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'ignore' });
  }
  expect(existsSync(join(repoRoot, 'dist', 'src', 'train', 'cli.js'))).toBe(true);
}, 300_000);

function train(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [join(repoRoot, 'train.js'), ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

describe('kill and resume', () => {
  it('a run SIGKILLed after a checkpoint and resumed has the same losses as an uninterrupted run', async () => {
    const { modelDir, dataPath } = writeTinyRun(join(work, 'tiny'), { conversations: 24, dropout: 0.1 });
    // 24 examples / batch 2 = 12 micro-batches = 6 steps per epoch: 30 steps cross four epoch boundaries.
    const args = (out: string) => [
      '--model', modelDir, '--data', dataPath, '--out', out, '--batch-size', '2', '--grad-accum', '2', '--max-steps', '30',
      '--save-steps', '4', '--save-total-limit', '2', '--lr', '3e-3', '--warmup-steps', '3', '--schedule', 'cosine',
      '--weight-decay', '0.01', '--seed', '7', '--loss-on', 'assistant',
    ];

    const whole = join(work, 'whole');
    const a = await train(args(whole)).done;
    expect(a.code, a.stderr).toBe(0);

    const cut = join(work, 'cut');
    const b = train(args(cut));
    let exited = false;
    void b.done.then(() => (exited = true));
    while (!exited && !existsSync(join(cut, 'checkpoint-8'))) await new Promise((r) => setTimeout(r, 5));
    b.child.kill('SIGKILL');
    const killed = await b.done;
    expect(killed.signal, 'the run finished before it could be killed').toBe('SIGKILL');
    const stepsBeforeKill = readMetrics(join(cut, 'metrics.jsonl')).length;
    expect(stepsBeforeKill).toBeLessThan(30);
    expect(listCheckpoints(cut).at(-1)!.step).toBeGreaterThanOrEqual(8);

    const c = await train(['--out', cut, '--resume']).done;
    expect(c.code, c.stderr).toBe(0);

    const want = readMetrics(join(whole, 'metrics.jsonl'));
    const got = readMetrics(join(cut, 'metrics.jsonl'));
    expect(want.map((m) => m.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(got.map((m) => m.step)).toEqual(want.map((m) => m.step));
    expect(got.map((m) => m.loss)).toEqual(want.map((m) => m.loss));
    expect(got.map((m) => m.lr)).toEqual(want.map((m) => m.lr));
    expect(got.map((m) => m.gradNorm)).toEqual(want.map((m) => m.gradNorm));
    // The loss falls on this easy data, so the comparison is not between two flat lines.
    expect(want.at(-1)!.loss).toBeLessThan(want[0]!.loss);
    expect(listCheckpoints(cut).map((x) => x.step)).toEqual([28, 30]);
    expect(existsSync(join(cut, 'loss.png'))).toBe(true);
  });
});
