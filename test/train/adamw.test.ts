/**
 * AdamW and global-norm clipping against PyTorch (test/fixtures/golden, README "expected"): the
 * parameters after 1 and 3 `torch.optim.AdamW` steps (lr 1e-2, wd 0.1 on weights only), with and
 * without `clip_grad_norm_(1.0)`, the losses along the way and the pre-clip gradient norms.
 * `k_proj.bias` is compared loosely: its gradient is analytically 0, so Adam turns fp32 round-off
 * into updates of up to ~lr (README, "Gradients that are (analytically) zero").
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { readSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { AdamW } from '../../src/train/optimizer/adamw.js';
import { GradClipper } from '../../src/train/optimizer/clip.js';
import { useGpu } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';

const gpu = useGpu();
const fixtures = join(repoRoot, 'test', 'fixtures', 'golden');
const LR = 1e-2;
const PARAM_ATOL = 1e-4;
const K_BIAS_ATOL = 3 * LR;

function readExpected(dir: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of readSafetensors(join(dir, 'expected.safetensors'))) out.set(t.name, t.data);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs `steps` steps (zero grads, forward + backward on the fixture batch, [clip], AdamW) and returns losses and norms. */
async function runSteps(model: OPTForCausalLM, steps: number, clip: boolean) {
  const dir = join(fixtures, model.config.doLayerNormBefore ? 'prenorm' : 'postnorm350m');
  const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  const params = model.namedParameters();
  const optimizer = new AdamW(gpu(), params, { lr: LR, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
  const clipper = new GradClipper(gpu(), params.map(([, p]) => p), clip ? 1.0 : null);
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    optimizer.zeroGrad();
    const { loss } = model.forward({ inputIds: inputs.input_ids, attentionMask: inputs.attention_mask, labels: inputs.labels });
    loss!.backward();
    clipper.clip();
    optimizer.step({ gradScale: clipper.coefficient });
    losses.push(await loss!.item());
    norms.push(await clipper.norm());
    loss!.release();
  }
  clipper.release();
  optimizer.release();
  return { losses, norms };
}

async function expectParams(model: OPTForCausalLM, expected: Map<string, Float32Array>, prefix: string): Promise<void> {
  for (const [name, p] of model.namedParameters()) {
    const want = expected.get(`${prefix}.${name}`);
    expect(want, `${prefix}.${name} in the fixture`).toBeDefined();
    const got = await p.data.toArray();
    const atol = name.endsWith('k_proj.bias') ? K_BIAS_ATOL : PARAM_ATOL;
    expect(maxAbsDiff(got, want!), `${prefix}.${name}`).toBeLessThanOrEqual(atol);
  }
}

for (const name of ['prenorm', 'postnorm350m'] as const) {
  describe(`AdamW vs torch.optim.AdamW (${name})`, () => {
    const dir = join(fixtures, name);
    const expected = readExpected(dir);

    it('one step', async () => {
      const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
      const { losses, norms } = await runSteps(model, 1, false);
      expect(losses[0]).toBeCloseTo(expected.get('loss')![0]!, 5);
      expect(norms[0]).toBeCloseTo(expected.get('gradnorm')![0]!, 4);
      await expectParams(model, expected, 'adamw1');
      model.dispose();
    });

    it('three steps', async () => {
      const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
      const { losses } = await runSteps(model, 3, false);
      expect(maxAbsDiff(losses, expected.get('adamw_losses')!)).toBeLessThan(1e-4);
      await expectParams(model, expected, 'adamw3');
      model.dispose();
    });

    it('three steps with global-norm clipping at 1.0', async () => {
      const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
      const { losses, norms } = await runSteps(model, 3, true);
      expect(maxAbsDiff(losses, expected.get('adamw3clip_losses')!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(norms, expected.get('gradnorms_clip')!)).toBeLessThan(1e-4);
      await expectParams(model, expected, 'adamw3clip');
      model.dispose();
    });
  });
}

describe('AdamW state', () => {
  it('saves and restores moments and the step count exactly', async () => {
    const dir = join(fixtures, 'prenorm');
    const model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
    const params = model.namedParameters();
    const a = new AdamW(gpu(), params, { lr: LR, weightDecay: 0.1 });
    const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; labels: number[][] };
    a.zeroGrad();
    const { loss } = model.forward({ inputIds: inputs.input_ids, labels: inputs.labels });
    loss!.backward();
    loss!.release();
    a.step();
    const path = join(mkdtempSync(join(tmpdir(), 'kiln-adamw-')), 'optimizer.safetensors');
    await a.saveState(path);
    const b = new AdamW(gpu(), params, { lr: LR, weightDecay: 0.1 });
    b.loadState(path);
    expect(b.stepCount).toBe(1);
    const path2 = `${path}.again`;
    await b.saveState(path2);
    expect(readFileSync(path2).equals(readFileSync(path))).toBe(true);
    a.release();
    b.release();
    model.dispose();
  });
});
