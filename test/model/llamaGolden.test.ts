/**
 * The Llama family against Hugging Face's own modeling code (test/fixtures/golden-llama, made by
 * scripts/make-llama-golden-fixtures.py; see its README): logits, loss and every parameter's
 * gradient from a float64 run, greedy generation with and without the KV cache, the cache's step
 * logits, sharded and bf16 checkpoints, and a save that loads back. Three configs: Llama with GQA,
 * tied embeddings and llama3 rope scaling; Qwen2 with biases, an untied head and left padding;
 * Qwen3 with QK-norm and head_dim != hidden/heads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaForCausalLM } from '../../src/model/llama/llama.js';
import { readSafetensors, readSafetensorsHeader } from '../../src/model/checkpoint/safetensors.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { repoRoot } from '../helpers/shared.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();
const fixtures = join(repoRoot, 'test', 'fixtures', 'golden-llama');
const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

interface Inputs {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}
interface Generation {
  max_new_tokens: number;
  prompts: number[][];
  new_tokens: number[][];
}

function readExpected(dir: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(join(dir, 'expected.safetensors'))].map((t) => [t.name, t.data]));
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** The logits of real (unpadded) positions only: HF's sdpa gives pad rows zeros, eager a uniform softmax. */
function realRows(logits: Float32Array, mask: number[][], V: number): Float32Array {
  const T = mask[0]!.length;
  const out: number[] = [];
  mask.forEach((row, b) => row.forEach((m, t) => m === 1 && out.push(...logits.subarray((b * T + t) * V, (b * T + t + 1) * V))));
  return Float32Array.from(out);
}

async function forwardLogits(model: LlamaForCausalLM, inputs: Inputs): Promise<{ logits: Float32Array; loss: number }> {
  const { logits, loss } = model.forward({ inputIds: inputs.input_ids, attentionMask: inputs.attention_mask, labels: inputs.labels, returnLogits: true, grad: false });
  const result = { logits: realRows(await logits!.toArray(), inputs.attention_mask, model.config.vocabSize), loss: await loss!.item() };
  logits!.release();
  loss!.release();
  return result;
}

/** Each generation step's last-position logits through the KV cache, feeding HF's tokens (pad after EOS). */
async function stepLogits(model: LlamaForCausalLM, g: Generation): Promise<number[]> {
  const B = g.prompts.length;
  const P = Math.max(...g.prompts.map((p) => p.length));
  const steps = g.max_new_tokens;
  const pad = model.generationPadId;
  const tokens = g.new_tokens.map((row) => [...row, ...new Array<number>(steps - row.length).fill(pad)]);
  const cache = model.newKVCache(B, P + steps);
  const maskRows = g.prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...p.map(() => 1)]);
  let ids = Int32Array.from(g.prompts.flatMap((p) => [...new Array<number>(P - p.length).fill(pad), ...p]));
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const logits = model.lastPositionLogits(ids, Int32Array.from(maskRows.flat()), B, s === 0 ? P : 1, cache);
    out.push(...(await logits.toArray()));
    logits.release();
    ids = Int32Array.from(tokens.map((row) => row[s]!));
    for (const row of maskRows) row.push(1);
  }
  cache.release();
  return out;
}

for (const name of ['llama-gqa-tied', 'qwen2-bias-pad', 'qwen3-qknorm'] as const) {
  describe(`golden ${name}`, () => {
    const dir = join(fixtures, name);
    const expected = readExpected(dir);
    const inputs = readJson<Inputs>(join(dir, 'inputs.json'));
    const generation = readJson<Generation>(join(dir, 'generate.json'));
    // One model per config, loaded from model.safetensors once for the tests below and released after them.
    let model: LlamaForCausalLM;
    beforeAll(async () => {
      model = await LlamaForCausalLM.fromPretrained(dir, { gpu: gpu() });
    });
    afterAll(() => {
      model?.dispose();
    });

    it('loads model.safetensors with exactly HF parameters', () => {
      const names = model.namedParameters().map(([n]) => n).sort();
      const want = [...expected.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)).sort();
      expect(names).toEqual(want);
    });

    it('logits and loss match transformers in float64', async () => {
      const { logits, loss } = await forwardLogits(model, inputs);
      const want = realRows(expected.get('logits')!, inputs.attention_mask, model.config.vocabSize);
      expectClose(logits, want, TOLERANCE.goldenLogits, 'logits');
      expectClose([loss], expected.get('loss')!, TOLERANCE.goldenLogits, 'loss');
    });

    it('every parameter gradient matches loss.backward() in transformers', async () => {
      model.zeroGrad();
      const { loss } = model.forward({ inputIds: inputs.input_ids, attentionMask: inputs.attention_mask, labels: inputs.labels });
      loss!.backward();
      loss!.release();
      let worst = { name: '', err: 0 };
      for (const [n, p] of model.namedParameters()) {
        const got = await p.grad.toArray();
        const want = expected.get(`grad.${n}`)!;
        expect(maxAbs(want), `${n} has a gradient`).toBeGreaterThan(0);
        let err = 0;
        for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
        if (err / maxAbs(want) > worst.err) worst = { name: n, err: err / maxAbs(want) };
        expectClose(got, want, TOLERANCE.goldenGrad, n);
      }
      console.log(`${name}: worst gradient error / max|ref| = ${worst.err.toExponential(2)} (${worst.name})`);
    });

    for (const useCache of [true, false]) {
      it(`greedy generation matches HF's generate, ${useCache ? 'KV cache' : 'no cache'}`, async () => {
        const tokens = await model.generate(generation.prompts, { maxNewTokens: generation.max_new_tokens, useCache });
        expect(tokens).toEqual(generation.new_tokens);
      });
    }

    it("the KV cache gives each step HF generate's logits", async () => {
      expectClose(await stepLogits(model, generation), expected.get('generate.step_logits')!, TOLERANCE.goldenLogits, 'step logits');
    });

    it('save writes HF names and shapes, and loads back with the same logits', async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'kiln-llama-save-')), 'model');
      tempDirs.push(out);
      await model.save(out);
      const header = (path: string) => readSafetensorsHeader(path).entries.map((e) => `${e.name} [${e.shape}]`).sort();
      expect(header(join(out, 'model.safetensors'))).toEqual(header(join(dir, 'model.safetensors')));
      const { torch_dtype: _a, dtype: _b, ...savedConfig } = readJson<Record<string, unknown>>(join(out, 'config.json'));
      const { torch_dtype: _c, dtype: _d, ...fixtureConfig } = readJson<Record<string, unknown>>(join(dir, 'config.json'));
      expect(savedConfig).toEqual(fixtureConfig);
      const reloaded = await LlamaForCausalLM.fromPretrained(out, { gpu: gpu() });
      const { logits } = await forwardLogits(reloaded, inputs);
      reloaded.dispose();
      expectClose(logits, realRows(expected.get('logits')!, inputs.attention_mask, model.config.vocabSize), TOLERANCE.goldenLogits, 'reloaded logits');
    });

    if (name === 'qwen2-bias-pad') {
      it('loads the sharded checkpoint (model.safetensors.index.json)', async () => {
        const sharded = await LlamaForCausalLM.fromPretrained(join(dir, 'sharded'), { gpu: gpu() });
        const { logits } = await forwardLogits(sharded, inputs);
        sharded.dispose();
        expectClose(logits, realRows(expected.get('logits')!, inputs.attention_mask, model.config.vocabSize), TOLERANCE.goldenLogits, 'sharded logits');
      });
    }

    if (name === 'qwen3-qknorm') {
      it('loads a bf16 checkpoint (widened to f32)', async () => {
        const bf16 = await LlamaForCausalLM.fromPretrained(join(dir, 'bf16'), { gpu: gpu() });
        const { logits } = await forwardLogits(bf16, inputs);
        bf16.dispose();
        expectClose(logits, realRows(expected.get('bf16.logits')!, inputs.attention_mask, model.config.vocabSize), TOLERANCE.goldenLogits, 'bf16 logits');
      });
    }
  });
}
