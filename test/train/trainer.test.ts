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
import { readMetrics } from '../../src/train/metrics.js';
import { Optimization } from '../../src/train/run/optimization.js';
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

  it('with a step in flight, a non-finite loss still stops at its own step, and metrics end there', async () => {
    const out = join(work, 'diverge-in-flight');
    const run = train(options(out, { lr: 1e38, maxGradNorm: 0, saveSteps: 0, maxSteps: 6 }), { gpu: gpu(), ...quiet }, null);
    const message = await run.then(() => '', (e: Error) => e.message);
    const step = Number(/stopped at step (\d+)/.exec(message)?.[1]);
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(6);
    expect(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step)).toEqual(Array.from({ length: step }, (_, i) => i + 1));
    expect(listCheckpoints(out)).toEqual([]);
  });

  it('a step that fails with the step before it still in flight fails the run with its error, after recording that step', async () => {
    const submit = Optimization.prototype.submit;
    let calls = 0;
    // Replaced by hand, not with vi.spyOn: a spy attaches its own handlers to the promises it
    // returns, which would hide an unhandled rejection.
    Optimization.prototype.submit = function (this: Optimization, ...args) {
      calls++;
      if (calls === 3) return Promise.reject(new Error('device lost in step 3'));
      // Step 2 is read back a timer later, as a device's readback is, so the event loop turns while
      // step 3's failure waits.
      const result = submit.apply(this, args);
      return calls === 2 ? result.then((r) => new Promise((resolve) => setTimeout(() => resolve(r), 20))) : result;
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const out = join(work, 'lost');
      await expect(train(options(out, { maxSteps: 5, saveSteps: 0 }), { gpu: gpu(), ...quiet }, null)).rejects.toThrow('device lost in step 3');
      expect(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step)).toEqual([1, 2]);
      // The loop had submitted step 4 before it awaited step 3, and waited for it before failing.
      expect(calls).toBe(4);
      // Step 3's failure waited, unhandled, while the loop awaited step 2: it must not surface as
      // an unhandled rejection as well.
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      Optimization.prototype.submit = submit;
    }
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
