/**
 * Gradient accumulation normalised over the whole window: two micro-batches with unequal target
 * counts must give the gradients (and the loss) of one batch holding both, not the average of two
 * per-micro-batch means (trl#2175).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { accumulateGradients, shiftedTargetCount } from '../../src/train/accumulation.js';
import type { Batch } from '../../src/train/data/batches.js';
import { useGpu } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';

const gpu = useGpu();
const dir = join(repoRoot, 'test', 'fixtures', 'golden', 'prenorm');
const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; labels: number[][] };

function batchOf(rows: number[]): Batch {
  const T = inputs.input_ids[0]!.length;
  const B = rows.length;
  const batch: Batch = {
    B,
    T,
    inputIds: Int32Array.from(rows.flatMap((r) => inputs.input_ids[r]!)),
    // Extra ignored labels on the first row make the two micro-batches' target counts very unequal.
    labels: Int32Array.from(rows.flatMap((r) => inputs.labels[r]!.map((l, t) => (r === 0 && t > 4 ? -100 : l)))),
    attentionMask: new Uint8Array(B * T).fill(1),
    examples: B,
    tokens: B * T,
    targets: 0,
  };
  batch.targets = shiftedTargetCount(batch);
  return batch;
}

async function gradients(model: OPTForCausalLM, batches: Batch[]): Promise<{ loss: number; grads: Float32Array[] }> {
  model.zeroGrad();
  const loss = gpu().alloc(4, 'test-loss');
  accumulateGradients(gpu(), model, batches, { seed: 1, step: 0, loss });
  const [value] = await gpu().readF32(loss, 0, 1);
  gpu().release(loss);
  const grads: Float32Array[] = [];
  for (const [, p] of model.namedParameters()) grads.push(await p.grad.toArray());
  return { loss: value!, grads };
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, k) => x.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k]![i]!)))));
  return m;
}

describe('gradient accumulation', () => {
  it('two micro-batches with unequal target counts equal one batch holding both', async () => {
    const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
    const a = batchOf([0]);
    const b = batchOf([1, 2]);
    expect([a.targets, b.targets]).toEqual([3, 16]);
    const whole = await gradients(model, [batchOf([0, 1, 2])]);
    const split = await gradients(model, [a, b]);
    expect(Math.abs(split.loss - whole.loss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(split.grads, whole.grads)).toBeLessThan(2e-6);

    // The per-micro-batch mean that trl#2175 averaged: clearly different gradients, so the check above has teeth.
    model.zeroGrad();
    for (const m of [a, b]) {
      const shape = [m.B, m.T] as const;
      const { loss } = model.forward({ inputIds: { data: m.inputIds, shape }, labels: { data: m.labels, shape }, lossDenominator: 2 * m.targets });
      loss!.backward();
      loss!.release();
    }
    const naive: Float32Array[] = [];
    for (const [, p] of model.namedParameters()) naive.push(await p.grad.toArray());
    expect(maxAbsDiff(naive, whole.grads)).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
