/**
 * OPTForCausalLM beyond the golden fixtures: HF's initialisation, dropout only in training and
 * reproducible by seed, save/load round trip, generation's stopping rules and sampling warpers,
 * and the host-side inputs (positions from the mask, shifted targets).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optConfig } from '../../src/model/opt/optConfig.js';
import { chooseToken } from '../../src/model/generate.js';
import { positionIdsFromMask, shiftedTargets } from '../../src/model/inputs.js';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { SeededRandom } from '../../src/model/random.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { TOLERANCE } from '../helpers/tolerances.js';

const gpu = useGpu();

const tinyArgs = {
  vocabSize: 53,
  hiddenSize: 24,
  wordEmbedProjDim: 12,
  numHiddenLayers: 2,
  numAttentionHeads: 3,
  ffnDim: 40,
  maxPositionEmbeddings: 32,
  doLayerNormBefore: false,
  dropout: 0.25,
};
const tiny = optConfig(tinyArgs);
const ids = [[2, 5, 9, 17, 4, 33, 8]];

describe('host-side inputs', () => {
  it('position ids follow cumsum(mask)·mask − 1, offset by 2', () => {
    const mask = Int32Array.from([1, 1, 1, 1, 0, 0, 1, 1]);
    expect([...positionIdsFromMask(mask, 2, 4, 4)]).toEqual([2, 3, 4, 5, 1, 1, 2, 3]);
    // The last T columns only: a decoding step after 3 cached keys.
    expect([...positionIdsFromMask(mask, 2, 4, 1)]).toEqual([5, 3]);
  });

  it('targets are the labels shifted left, the last position and -100 ignored', () => {
    const { targets, count } = shiftedTargets(Int32Array.from([5, 6, -100, 8]), 1, 4, 10);
    expect([...targets]).toEqual([6, -100, 8, -100]);
    expect(count).toBe(2);
    expect(() => shiftedTargets(Int32Array.from([5, 10]), 1, 2, 10)).toThrow(/vocabulary/);
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([0, 3, 1, 2.9, -1]);
  it('greedy is argmax with the lowest index on ties', () => {
    expect(chooseToken(logits, { maxNewTokens: 1 }, new SeededRandom(0))).toBe(1);
    expect(chooseToken(Float32Array.from([1, 4, 4]), { maxNewTokens: 1 }, new SeededRandom(0))).toBe(1);
  });

  it('top-k 1 and a tiny top-p are greedy; top-k 2 samples only the two best', () => {
    const rng = new SeededRandom(3);
    for (let i = 0; i < 50; i++) {
      expect(chooseToken(logits, { maxNewTokens: 1, temperature: 1, topK: 1 }, rng)).toBe(1);
      expect(chooseToken(logits, { maxNewTokens: 1, temperature: 1, topP: 0.01 }, rng)).toBe(1);
      expect([1, 3]).toContain(chooseToken(logits, { maxNewTokens: 1, temperature: 1, topK: 2 }, rng));
    }
  });

  it('samples follow softmax(logits / temperature) and repeat with the seed', () => {
    const draw = (seed: number) => {
      const rng = new SeededRandom(seed);
      return Array.from({ length: 4000 }, () => chooseToken(logits, { maxNewTokens: 1, temperature: 2 }, rng));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    const z = [...logits].reduce((s, x) => s + Math.exp(x / 2), 0);
    for (let v = 0; v < logits.length; v++) {
      const freq = a.filter((t) => t === v).length / a.length;
      expect(Math.abs(freq - Math.exp(logits[v]! / 2) / z)).toBeLessThan(0.03);
    }
  });
});

describe('OPTForCausalLM', () => {
  it("initialises as HF's _init_weights does", async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const E = tiny.wordEmbedProjDim;
    const tok = await model.parameter('model.decoder.embed_tokens.weight').data.toArray();
    expect([...tok.subarray(tiny.padTokenId * E, (tiny.padTokenId + 1) * E)].every((x) => x === 0)).toBe(true);
    const std = Math.sqrt(tok.reduce((s, x) => s + x * x, 0) / (tok.length - E));
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect([...(await model.parameter('model.decoder.layers.0.self_attn_layer_norm.weight').data.toArray())].every((x) => x === 1)).toBe(true);
    expect([...(await model.parameter('model.decoder.layers.1.fc1.bias').data.toArray())].every((x) => x === 0)).toBe(true);
    expect(model.numParameters()).toBe(model.namedParameters().reduce((n, [, p]) => n + p.size, 0));
    model.dispose();
  });

  it('dropout acts only in training, and a seed reproduces it', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const logits = async (seed?: number) => {
      const out = model.forward({ inputIds: ids, dropoutSeed: seed }).logits!;
      const values = await out.toArray();
      out.release();
      return values;
    };
    const evalLogits = await logits();
    expect(await logits(1)).toEqual(evalLogits); // eval mode ignores the seed
    model.train();
    const a = await logits(1);
    expect(await logits(1)).toEqual(a);
    expect(await logits(2)).not.toEqual(a);
    expect(a).not.toEqual(evalLogits);
    model.eval();
    expect(await logits()).toEqual(evalLogits);
    model.dispose();
  });

  it('a padding-only row gets finite logits and leaves the other rows as they are alone', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const T = ids[0]!.length;
    const batch = model.forward({ inputIds: [ids[0]!, new Array<number>(T).fill(1)], attentionMask: [new Array<number>(T).fill(1), new Array<number>(T).fill(0)] }).logits!;
    const alone = model.forward({ inputIds: ids }).logits!;
    const [b, a] = [await batch.toArray(), await alone.toArray()];
    expect(b.every(Number.isFinite)).toBe(true);
    expectClose(b.subarray(0, a.length), a, TOLERANCE.f32, 'row 0');
    batch.release();
    alone.release();
    model.dispose();
  });

  it('packed sequences (segment ids, restarted positions) get the logits they get alone', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const first = [2, 5, 9, 17];
    const second = [2, 33, 8];
    const packed = model.forward({
      inputIds: [[...first, ...second]],
      positionIds: [[0, 1, 2, 3, 0, 1, 2]],
      segmentIds: [[0, 0, 0, 0, 1, 1, 1]],
    }).logits!;
    const got = await packed.toArray();
    packed.release();
    const V = tiny.vocabSize;
    let offset = 0;
    for (const seq of [first, second]) {
      const alone = model.forward({ inputIds: [seq] }).logits!;
      expectClose(got.subarray(offset * V, (offset + seq.length) * V), await alone.toArray(), TOLERANCE.f32, `segment at ${offset}`);
      alone.release();
      offset += seq.length;
    }
    model.dispose();
  });

  it("right-padded rows (the trainer's batches) get the logits and gradients they get alone, past one 64-row block", async () => {
    // T > 64: attention's 'scores' variant splits the rows into causal blocks, which under a
    // padding mask it may do only because every right-padded row sees the sequence's first token.
    const config = optConfig({ ...tinyArgs, maxPositionEmbeddings: 128, dropout: 0 });
    const model = await OPTForCausalLM.fromConfig(config, { gpu: gpu(), seed: 6 });
    const V = config.vocabSize;
    const rows = [Array.from({ length: 100 }, (_, t) => 2 + ((t * 7) % 50)), Array.from({ length: 70 }, (_, t) => 2 + ((t * 11) % 50))];
    const T = rows[0]!.length;
    const pad = (r: number[], fill: number) => [...r, ...new Array<number>(T - r.length).fill(fill)];
    const denominator = rows.reduce((n, r) => n + r.length - 1, 0);
    const grads = async () => Promise.all(model.namedParameters().map(([, p]) => p.grad.toArray()));

    const batch = model.forward({
      inputIds: rows.map((r) => pad(r, 1)),
      attentionMask: rows.map((r) => pad(r.map(() => 1), 0)),
      labels: rows.map((r) => pad(r, -100)),
      lossDenominator: denominator,
      returnLogits: true,
    });
    batch.loss!.backward();
    const logits = await batch.logits!.toArray();
    const together = await grads();
    batch.loss!.release();
    batch.logits!.release();

    model.zeroGrad();
    for (const [b, r] of rows.entries()) {
      const alone = model.forward({ inputIds: [r], labels: [r], lossDenominator: denominator, returnLogits: true });
      alone.loss!.backward();
      expectClose(logits.subarray(b * T * V, (b * T + r.length) * V), await alone.logits!.toArray(), TOLERANCE.f32, `row ${b} logits`);
      alone.loss!.release();
      alone.logits!.release();
    }
    const separate = await grads();
    const names = model.namedParameters().map(([n]) => n);
    const largestOf = (name: string) => Math.max(...separate[names.indexOf(name)]!.map(Math.abs));
    together.forEach((t, i) => {
      // A key bias shifts all of a row's scores alike, which softmax ignores: its gradient is 0 up
      // to the rounding of cancelling terms the size of the key weights' gradient.
      const keyBias = names[i]!.match(/^(.*k_proj)\.bias$/);
      expectClose(t, separate[i]!, TOLERANCE.f32, names[i]!, keyBias ? largestOf(`${keyBias[1]}.weight`) : undefined);
    });
    model.dispose();
  });

  it('the LM head over only the rows with a target gives the loss and gradients of all rows', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 8 });
    const g = gpu();
    const grads = async () => Promise.all(model.namedParameters().map(([, p]) => p.grad.toArray()));
    const inputIds = [[2, 5, 9, 17, 4, 33, 8, 12, 40, 3], [2, 7, 7, 21, 30, 6, 11, 19, 5, 9]];
    // SFT-like labels: a prompt and a tool response masked, a few target tokens per row.
    const labels = [[-100, -100, -100, -100, 4, 33, -100, -100, 40, 3], [-100, -100, 7, -100, -100, -100, -100, 19, 5, -100]];
    const run = async (returnLogits: boolean) => {
      model.zeroGrad();
      const out = model.forward({ inputIds, labels, returnLogits });
      out.loss!.backward();
      const loss = await out.loss!.item();
      out.loss!.release();
      out.logits?.release();
      return { loss, grads: await grads() };
    };
    // With logits asked for, every row goes through the head; without, only the 6 with a target.
    const all = await run(true);
    await g.sync();
    const idle = g.pool.stats().bytesInUse;
    const compact = await run(false);
    expect(g.pool.stats().bytesInUse).toBe(idle);
    expect(compact.loss).toBeCloseTo(all.loss, 5);
    const names = model.namedParameters().map(([n]) => n);
    compact.grads.forEach((t, i) => expectClose(t, all.grads[i]!, TOLERANCE.f32, names[i]!));
    expect(compact.grads[names.indexOf('model.decoder.embed_tokens.weight')]!.some((x) => x !== 0)).toBe(true);
    model.dispose();
  });

  it('losses of several forwards backpropagate in any order; a released loss frees its tape', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const g = gpu();
    const grads = async () => Promise.all(model.namedParameters().map(([, p]) => p.grad.toArray()));
    const first = model.forward({ inputIds: ids, labels: ids });
    first.loss!.backward();
    first.loss!.release();
    const once = await grads();
    model.zeroGrad();
    await g.sync();
    const idle = g.pool.stats().bytesInUse;
    // Two micro-batches forwarded before either backward, an evaluation forward in between.
    const a = model.forward({ inputIds: ids, labels: ids });
    const b = model.forward({ inputIds: ids, labels: ids });
    model.forward({ inputIds: ids, labels: ids, grad: false }).loss!.release();
    b.loss!.backward();
    a.loss!.backward();
    a.loss!.release();
    b.loss!.release();
    const twice = await grads();
    twice.forEach((t, i) => expectClose(t, once[i]!.map((x) => 2 * x), TOLERANCE.f32, model.namedParameters()[i]![0]));
    // A loss dropped without backward returns everything its forward saved.
    model.forward({ inputIds: ids, labels: ids }).loss!.release();
    expect(g.pool.stats().bytesInUse).toBe(idle);
    model.dispose();
  });

  it('saves in HF layout and loads back the same model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-save-'));
    try {
      const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 9 });
      await model.save(join(dir, 'out'));
      const loaded = await OPTForCausalLM.fromPretrained(join(dir, 'out'), { gpu: gpu() });
      for (const [name, p] of model.namedParameters()) {
        expect(await loaded.parameter(name).data.toArray(), name).toEqual(await p.data.toArray());
      }
      model.dispose();
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generation stops at EOS and at stop strings, per sequence', async () => {
    const model = await OPTForCausalLM.fromConfig(tiny, { gpu: gpu(), seed: 5 });
    const prompts = [[2, 5, 9], [2, 7]];
    const free = await model.generate(prompts, { maxNewTokens: 6, eosTokenId: null });
    expect(free.map((r) => r.length)).toEqual([6, 6]);
    // Make the first sequence's third token its EOS: it stops there, the other runs on.
    const eos = free[0]![2]!;
    const stopped = await model.generate(prompts, { maxNewTokens: 6, eosTokenId: eos });
    expect(stopped[0]).toEqual(free[0]!.slice(0, free[0]!.indexOf(eos) + 1));
    if (!free[1]!.includes(eos)) expect(stopped[1]).toEqual(free[1]);
    // A "tokenizer" spelling each id as <id>: stop once the text holds the second new token.
    const tokenizer = { decode: (t: readonly number[]) => t.map((id) => `<${id}>`).join('') };
    const byString = await model.generate(prompts, { maxNewTokens: 6, eosTokenId: null, tokenizer, stopStrings: [`<${free[0]![1]}>`] });
    expect(byString[0]).toEqual(free[0]!.slice(0, free[0]!.indexOf(free[0]![1]!) + 1));
    model.dispose();
  });
});
