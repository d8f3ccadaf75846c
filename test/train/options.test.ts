import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, OptionsError, parseTrainArgs, resumeOptions, trainHelp, type TrainOptions } from '../../src/train/options.js';

const base = ['--model', 'm', '--data', 'd.json', '--out', 'o'];

function parse(argv: string[]): TrainOptions {
  const r = parseTrainArgs(argv);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

describe('training options', () => {
  it("defaults are transformers' (AdamW 5e-5, 0.9/0.999, 1e-8, linear, clip 1.0, one epoch)", () => {
    const o = parse(base);
    expect(o).toMatchObject({ lr: 5e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, schedule: 'linear', maxGradNorm: 1, epochs: 1 });
    expect(o.data).toEqual(['d.json']);
  });

  it('--preset paper pins the recipe; explicit flags still win', () => {
    const o = parse([...base, '--preset', 'paper']);
    expect(o).toMatchObject({ lr: 5e-5, schedule: 'linear', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, batchSize: 8, epochs: 1, lossOn: 'all' });
    expect(parse([...base, '--preset', 'paper', '--batch-size', '2']).batchSize).toBe(2);
  });

  it('reads a JSON config file (flag or option names); the command line overrides it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-opt-'));
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify({ 'max-steps': 7, lr: 0.001, gradAccum: 3, preset: 'paper' }));
    const o = parse([...base, '--config', path, '--lr', '2e-4']);
    expect(o).toMatchObject({ maxSteps: 7, lr: 2e-4, gradAccum: 3, lossOn: 'all', preset: 'paper' });
    writeFileSync(path, JSON.stringify({ 'max-stepz': 7 }));
    expect(() => parse([...base, '--config', path])).toThrow(/c\.json: unknown option "max-stepz"/);
  });

  it('names the flag in every error', () => {
    expect(() => parse([...base, '--lr', 'abc'])).toThrow(/--lr: expected a number/);
    expect(() => parse([...base, '--batch-size', '2.5'])).toThrow(/--batch-size: expected an integer/);
    expect(() => parse([...base, '--schedule', 'cubic'])).toThrow(/--schedule: expected one of linear, cosine, constant/);
    expect(() => parse([...base, '--beta2', '1'])).toThrow(/--beta2: must be in \[0, 1\)/);
    expect(() => parse([...base, '--frobnicate'])).toThrow(OptionsError);
    expect(() => parse(['--data', 'd'])).toThrow(/missing --model, --out/);
  });

  it('--resume alone means the latest checkpoint; a resumed run needs only --out', () => {
    expect(parse([...base, '--resume']).resume).toBe('latest');
    expect(parse([...base, '--resume', 'o/checkpoint-4']).resume).toBe('o/checkpoint-4');
    expect(parse(['--out', 'o', '--resume', '--max-steps', '3']).resume).toBe('latest');
  });

  it('resume keeps the saved options and refuses changes to what a step computes', () => {
    const saved: TrainOptions = { ...DEFAULTS, model: 'm', data: ['d'], out: 'o', maxSteps: 10 };
    expect(resumeOptions(saved, { out: 'o', saveSteps: 3 }, 'latest')).toMatchObject({ model: 'm', maxSteps: 10, saveSteps: 3 });
    expect(() => resumeOptions(saved, { lr: 1e-3 }, 'latest')).toThrow(/--lr \(checkpoint: 0.00005, now: 0.001\)/);
  });

  it('--help lists every flag', () => {
    expect(parseTrainArgs(['--model', 'x', '--help'])).toEqual({ help: true });
    for (const flag of ['--model', '--data', '--out', '--preset', '--max-steps', '--resume', '--config', '--grad-accum']) expect(trainHelp()).toContain(flag);
  });
});
