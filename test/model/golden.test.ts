/**
 * The model against PyTorch (test/fixtures/golden, see its README): logits, loss, every parameter
 * gradient, the four weight file forms, greedy generation with and without the KV cache, and
 * left padding. Both fixture configs: `prenorm` (pre-LN, final LN) and `postnorm350m` (350m's
 * post-LN with project_in/out and left padding).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVCache } from '../../src/model/kvCache.js';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { readSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();
const fixtures = join(repoRoot, 'test', 'fixtures', 'golden');
const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function readExpected(dir: string, file = 'expected.safetensors'): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of readSafetensors(join(dir, file))) out.set(t.name, t.data);
  return out;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** A directory holding config.json and one weights file under the name the loader looks for. */
function weightsDir(dir: string, file: string, as: string): string {
  const d = mkdtempSync(join(tmpdir(), 'kiln-golden-'));
  tempDirs.push(d);
  copyFileSync(join(dir, 'config.json'), join(d, 'config.json'));
  copyFileSync(join(dir, file), join(d, as));
  return d;
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** max|got - want| / max|want|: the figure the tolerances bound. */
function scaledError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m / Math.max(maxAbs(want), 1e-30);
}

interface Inputs {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  labels_nopad?: number[][];
}

interface Generation {
  prompt_input_ids: number[][];
  prompt_attention_mask: number[][];
  new_tokens: number[][];
}

/** The fixture's prompts without their left padding (generate pads them itself). */
function unpaddedPrompts(g: Generation): number[][] {
  return g.prompt_input_ids.map((row, b) => row.filter((_, t) => g.prompt_attention_mask[b]![t] === 1));
}

for (const name of ['prenorm', 'postnorm350m'] as const) {
  describe(`golden ${name}`, () => {
    const dir = join(fixtures, name);
    const expected = readExpected(dir);
    const inputs = readJson<Inputs>(join(dir, 'inputs.json'));
    // One model per config, loaded from model.safetensors once for the tests below and released
    // after them (the forward-only tests leave its weights as loaded; gradients are zeroed per test).
    let model: OPTForCausalLM;
    beforeAll(async () => {
      model = await OPTForCausalLM.fromPretrained(dir, { gpu: gpu() });
    });
    afterAll(() => {
      model?.dispose();
    });

    it('loads model.safetensors with every HF parameter', () => {
      const names = model.namedParameters().map(([n]) => n);
      for (const n of names) expect(expected.has(`grad.${n}`), n).toBe(true);
      expect(names.length).toBe([...expected.keys()].filter((k) => k.startsWith('grad.')).length);
    });

    it('logits and loss match PyTorch', async () => {
      const { logits, loss } = model.forward({
        inputIds: inputs.input_ids,
        attentionMask: inputs.attention_mask,
        labels: inputs.labels,
        returnLogits: true,
        grad: false,
      });
      const got = await logits!.toArray();
      const lossValue = await loss!.item();
      logits!.release();
      loss!.release();
      console.log(`${name}: logits max err / max|ref| = ${scaledError(got, expected.get('logits')!).toExponential(2)}, ` +
        `loss ${lossValue} vs ${expected.get('loss')![0]}`);
      expectClose(got, expected.get('logits')!, TOLERANCE.goldenLogits, 'logits');
      expectClose([lossValue], expected.get('loss')!, TOLERANCE.goldenLogits, 'loss');
    });

    // postnorm350m's loss includes a pad position whose query row sees no key and so attends
    // uniformly to every key; PyTorch's autograd passes dS = P(dP - D) through the mask add there,
    // so q and k get gradient from that row too (fixture README). labels_nopad avoids that row.
    it('every parameter gradient matches loss.backward() in PyTorch', async () => {
      await checkGradients(model, inputs.labels, 'grad.');
    });

    if (name === 'postnorm350m') {
      it('gradients with no pad position in the loss (labels_nopad)', async () => {
        await checkGradients(model, inputs.labels_nopad!, 'nopad.grad.', 'nopad.loss');
      });
    }

    async function checkGradients(m: OPTForCausalLM, labels: number[][], prefix: string, lossKey = 'loss'): Promise<void> {
      m.zeroGrad();
      const { loss } = m.forward({ inputIds: inputs.input_ids, attentionMask: inputs.attention_mask, labels });
      loss!.backward();
      expectClose([await loss!.item()], expected.get(lossKey)!, TOLERANCE.goldenLogits, 'loss');
      loss!.release();
      // k_proj.bias's gradient is analytically zero (softmax is shift-invariant per query row):
      // both sides hold round-off, so it is bounded against the largest gradient of the model.
      let largest = 0;
      for (const [n] of m.namedParameters()) largest = Math.max(largest, maxAbs(expected.get(`${prefix}${n}`)!));
      let worst = { name: '', err: 0 };
      for (const [n, p] of m.namedParameters()) {
        const got = await p.grad.toArray();
        const want = expected.get(`${prefix}${n}`)!;
        if (n.endsWith('k_proj.bias')) {
          expect(maxAbs(got), n).toBeLessThan(TOLERANCE.goldenGrad.atolScaled * largest);
          continue;
        }
        const err = scaledError(got, want);
        if (err > worst.err) worst = { name: n, err };
        expectClose(got, want, TOLERANCE.goldenGrad, n);
      }
      console.log(`${name} ${prefix}: worst gradient error / max|ref| = ${worst.err.toExponential(2)} (${worst.name})`);
    }

    it('sequence length 1 (expected-t1)', async () => {
      const t1 = readJson<{ input_ids: number[][]; attention_mask: number[][] }>(join(dir, 'inputs-t1.json'));
      const want = readExpected(dir, 'expected-t1.safetensors').get('logits')!;
      const { logits } = model.forward({ inputIds: t1.input_ids, attentionMask: t1.attention_mask });
      expectClose(await logits!.toArray(), want, TOLERANCE.goldenLogits, 'logits');
      logits!.release();
    });

    for (const [file, as, f16] of [
      ['model-f16.safetensors', 'model.safetensors', true],
      ['pytorch_model.bin', 'pytorch_model.bin', false],
      ['pytorch_model-f16.bin', 'pytorch_model.bin', true],
    ] as const) {
      it(`loads ${file}`, async () => {
        const loaded = await OPTForCausalLM.fromPretrained(weightsDir(dir, file, as), { gpu: gpu() });
        try {
          const want = f16 ? readExpected(dir, 'expected-f16.safetensors') : expected;
          const { logits, loss } = loaded.forward({
            inputIds: inputs.input_ids,
            attentionMask: inputs.attention_mask,
            labels: inputs.labels,
            returnLogits: true,
            grad: false,
          });
          expectClose(await logits!.toArray(), want.get('logits')!, TOLERANCE.goldenLogits, `${file} logits`);
          expectClose([await loss!.item()], want.get('loss')!, TOLERANCE.goldenLogits, `${file} loss`);
          logits!.release();
          loss!.release();
        } finally {
          loaded.dispose();
        }
      });
    }

    const generation = readJson<{ max_new_tokens: number; padded: Generation; unpadded: Generation }>(join(dir, 'generate.json'));
    for (const kind of ['padded', 'unpadded'] as const) {
      for (const useCache of [true, false]) {
        it(`greedy generation, ${kind} prompts, ${useCache ? 'KV cache' : 'no cache'}`, async () => {
          const g = generation[kind];
          const tokens = await model.generate(unpaddedPrompts(g), { maxNewTokens: generation.max_new_tokens, useCache, eosTokenId: null });
          expect(tokens).toEqual(g.new_tokens);
        });
      }
    }

    it('the KV cache gives each step the logits of a full forward', async () => {
      const want = expected.get('generate.padded.step_logits')!;
      const g = generation.padded;
      const V = model.config.vocabSize;
      const steps = await stepLogits(model, unpaddedPrompts(g), g.new_tokens);
      expect(steps.length).toBe(want.length / (2 * V));
      expectClose(steps.flatMap((s) => [...s]), want, TOLERANCE.goldenLogits, 'step logits');
    });

    it('a left-padded batch gives each row the logits it gets alone', async () => {
      const { logits } = model.forward({ inputIds: inputs.input_ids, attentionMask: inputs.attention_mask });
      const batch = await logits!.toArray();
      logits!.release();
      const T = inputs.input_ids[0]!.length;
      const V = model.config.vocabSize;
      for (let b = 0; b < inputs.input_ids.length; b++) {
        const start = inputs.attention_mask[b]!.indexOf(1);
        const alone = model.forward({ inputIds: [inputs.input_ids[b]!.slice(start)] }).logits!;
        const want = await alone.toArray();
        alone.release();
        expectClose(batch.subarray((b * T + start) * V, (b + 1) * T * V), want, TOLERANCE.goldenLogits, `row ${b}`);
      }
    });
  });
}

/**
 * Runs greedy generation step by step through the KV cache, feeding the expected tokens, and
 * returns each step's last-position logits (what the fixture's step_logits hold).
 */
async function stepLogits(model: OPTForCausalLM, prompts: number[][], newTokens: number[][]): Promise<Float32Array[]> {
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const steps = newTokens[0]!.length;
  const cache = new KVCache(model.gpu, model.config.numHiddenLayers, B, P + steps, model.config.hiddenSize);
  const maskRows = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...p.map(() => 1)]);
  let ids = Int32Array.from(prompts.flatMap((p) => [...new Array<number>(P - p.length).fill(1), ...p]));
  const out: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    const T = s === 0 ? P : 1;
    const logits = model.lastPositionLogits(ids, Int32Array.from(maskRows.flat()), B, T, cache);
    out.push(await logits.toArray());
    logits.release();
    ids = Int32Array.from(newTokens.map((row) => row[s]!));
    for (const row of maskRows) row.push(1);
  }
  cache.release();
  return out;
}
