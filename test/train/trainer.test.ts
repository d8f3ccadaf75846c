/**
 * The trainer in process on a tiny model: a checkpoint reloads with bit-identical logits and is a
 * complete Hugging Face directory; a diverging run stops at the first non-finite loss with a clear
 * message and leaves the last good checkpoint in place; out-of-memory errors name the batch shape.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { AdamW } from '../../src/train/optimizer/adamw.js';
import { listCheckpoints, PROMPT_TEMPLATE_FILE } from '../../src/train/checkpoints.js';
import { DEFAULTS, validateOptions, type TrainOptions } from '../../src/train/options.js';
import { explainOutOfMemory, train, TrainingStopped } from '../../src/train/trainer.js';
import { useGpu } from '../helpers/gpu.js';
import { writeTinyRun } from './tinyRun.js';

const gpu = useGpu();
const work = mkdtempSync(join(tmpdir(), 'kiln-trainer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tiny = writeTinyRun(join(work, 'tiny'), { conversations: 12 });

function options(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return validateOptions({ ...DEFAULTS, model: tiny.modelDir, data: [tiny.dataPath], out, batchSize: 4, lr: 3e-3, ...extra });
}

const quiet = { log: () => {}, progressStream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream };

describe('checkpoints written by kiln', () => {
  it('reload into kiln with identical logits', async () => {
    const model = await OPTForCausalLM.fromPretrained(tiny.modelDir, { gpu: gpu() });
    const tokenizer = await Tokenizer.fromPretrained(tiny.modelDir);
    const optimizer = new AdamW(gpu(), model.namedParameters(), { lr: 1e-2 });
    const ids = [[2, 40, 41, 42, 43, 44, 45, 46], [2, 50, 60, 70, 80, 90, 100, 110]];
    model.train();
    for (let s = 0; s < 2; s++) {
      optimizer.zeroGrad();
      const { loss } = model.forward({ inputIds: ids, labels: ids, dropoutSeed: s });
      loss!.backward();
      loss!.release();
      optimizer.step();
    }
    model.eval();
    const before = model.forward({ inputIds: ids }).logits!;
    const dir = join(work, 'saved');
    await model.save(dir, { tokenizer });
    const reloaded = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
    const after = reloaded.forward({ inputIds: ids }).logits!;
    expect(await after.toArray()).toEqual(await before.toArray());
    for (const t of [before, after]) t.release();
    optimizer.release();
    model.dispose();
    reloaded.dispose();
  });

  it('train() writes complete checkpoints (model, tokenizer, optimizer, state, prompt template)', async () => {
    const out = join(work, 'run');
    const template = join(work, 'template.txt');
    writeFileSync(template, 'Tools:\n{tool_list}Functions: {functions}');
    const summary = await train(options(out, { maxSteps: 3, saveSteps: 2, promptTemplate: template }), { gpu: gpu(), ...quiet }, null);
    expect(summary.steps).toBe(3);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2, 3]);
    const dir = join(out, 'checkpoint-3');
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', PROMPT_TEMPLATE_FILE]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ step: 3, cursor: { epoch: 1, microBatch: 0 }, rng: { seed: 42 } });
    expect(Tokenizer.fromDir(dir).vocabSize).toBe(Tokenizer.fromDir(tiny.modelDir).vocabSize);
    expect(existsSync(join(out, 'loss.png'))).toBe(true);
  });
});

describe('guardrails', () => {
  it('a non-finite loss stops the run, naming the step and the last good checkpoint', async () => {
    const out = join(work, 'diverge');
    const run = train(options(out, { lr: 1e38, maxGradNorm: 0, saveSteps: 1, maxSteps: 6 }), { gpu: gpu(), ...quiet }, null);
    await expect(run).rejects.toThrow(TrainingStopped);
    const message = await run.then(() => '', (e: Error) => e.message);
    expect(message).toMatch(/stopped at step (\d+): the (loss|gradient norm) is (NaN|-?Infinity)/);
    const step = Number(/step (\d+)/.exec(message)![1]);
    const kept = listCheckpoints(out);
    expect(kept.at(-1)!.step).toBe(step - 1);
    expect(message).toContain(`checkpoint-${step - 1}`);
  });

  it('an out-of-memory error names the batch shape and suggests smaller settings', () => {
    const o = options(join(work, 'x'), { batchSize: 8, gradAccum: 1 });
    const err = explainOutOfMemory(new Error('kiln: GPU out of memory in a batch of 12 commands'), { B: 8, T: 512 }, o);
    expect(err.message).toContain('[B=8, T=512]');
    expect(err.message).toContain('--batch-size 4 --grad-accum 2');
    expect(err.message).toContain('--max-length');
    const other = new Error('something else');
    expect(explainOutOfMemory(other, { B: 1, T: 1 }, o)).toBe(other);
  });
});
