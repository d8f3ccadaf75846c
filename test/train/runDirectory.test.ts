/**
 * F4 of the hostile-input probe: a second run written into a used --out. Before, it ran: its new
 * checkpoints were pruned at once (the first run's higher step numbers counted as newer), its
 * metrics.jsonl replaced the first run's, and a later --resume mixed the two. Now the directory
 * is refused unless --overwrite (which deletes only kiln's own files) or --resume.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/train/checkpoints.js';
import { DEFAULTS, OptionsError, validateOptions, type TrainOptions } from '../../src/train/options.js';
import { train } from '../../src/train/trainer.js';
import { useGpu } from '../helpers/gpu.js';
import { writeTinyRun } from './tinyRun.js';

const gpu = useGpu();
const work = mkdtempSync(join(tmpdir(), 'kiln-run-dir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tiny = writeTinyRun(join(work, 'tiny'), { conversations: 8 });

function options(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return validateOptions({ ...DEFAULTS, model: tiny.modelDir, data: [tiny.dataPath], out, batchSize: 4, lr: 3e-3, saveSteps: 1, ...extra });
}
const io = () => ({ gpu: gpu(), log: () => {}, progressStream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream });
const steps = (out: string) => listCheckpoints(out).map((c) => c.step);

describe('F4: one run per --out', () => {
  it('a second run into a used --out is refused, leaving the first run whole; --overwrite starts over', async () => {
    const out = join(work, 'reused');
    await train(options(out, { maxSteps: 4, saveTotalLimit: 2 }), io(), null);
    expect(steps(out)).toEqual([3, 4]);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    writeFileSync(join(out, 'notes.txt'), 'mine');

    await expect(train(options(out, { maxSteps: 2, saveTotalLimit: 2 }), io(), null)).rejects.toThrow(OptionsError);
    await expect(train(options(out, { maxSteps: 2, saveTotalLimit: 2 }), io(), null)).rejects.toThrow(
      /--out .*reused already holds a training run \(checkpoint-3, checkpoint-4, loss\.png, metrics\.jsonl\).*--resume.*--overwrite/,
    );
    expect(steps(out)).toEqual([3, 4]);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe(metrics);

    await train(options(out, { maxSteps: 2, saveTotalLimit: 2, overwrite: true }), io(), null);
    expect(steps(out)).toEqual([1, 2]);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(2);
    // Files kiln did not write stay.
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(out).filter((n) => n.includes('.old-'))).toEqual([]);
  });

  it('resuming from an earlier checkpoint refuses the later ones unless --overwrite deletes them', async () => {
    const out = join(work, 'rewind');
    await train(options(out, { maxSteps: 3, saveTotalLimit: 3 }), io(), null);
    expect(steps(out)).toEqual([1, 2, 3]);
    const dir = join(out, 'checkpoint-1');
    const state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));
    const resumed = (extra: Partial<TrainOptions>) => options(out, { maxSteps: 3, saveTotalLimit: 3, resume: dir, ...extra });
    await expect(train(resumed({}), io(), { dir, state })).rejects.toThrow(/--resume .*checkpoint-1: .* later checkpoints \(checkpoint-2, checkpoint-3\)/);
    expect(steps(out)).toEqual([1, 2, 3]);
    await train(resumed({ overwrite: true }), io(), { dir, state });
    expect(steps(out)).toEqual([1, 2, 3]);
    const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(logged).toEqual([1, 2, 3]);
    expect(existsSync(join(out, 'checkpoint-3', 'trainer_state.json'))).toBe(true);
  });
});
