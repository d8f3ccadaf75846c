/**
 * The Llama family as Hugging Face's modeling_llama.py, modeling_qwen2.py and modeling_qwen3.py
 * compute it (Llama 3.2, SmolLM2, Qwen2.5, Qwen3): one class, the differences read from the
 * config (llamaConfig.ts).
 *
 *   h = embed_tokens[ids]
 *   layer: x = RMSNorm₁(h); q, k, v = x·W (+ b: Qwen2); Qwen3: q, k = RMSNorm per head (QK-norm)
 *          q, k = rope(q), rope(k); h = h + o_proj(attention(q, repeat_kv(k), repeat_kv(v)))
 *          h = h + down(silu(gate(RMSNorm₂(h))) · up(RMSNorm₂(h)))
 *   logits = norm(h)·lm_headᵀ (lm_head = embed_tokens when tie_word_embeddings)
 *
 * Grouped-query attention keeps num_key_value_heads heads in k, v and the KV cache; they are
 * repeated for the attention kernel, whose backward sums each group's gradients back.
 */
import { expandKv, gatedMlp, rmsNorm, rotary, type RotaryAngles } from '../../autograd/decoderOps.js';
import { attention, add, embedding, linear, type OpContext } from '../../autograd/ops.js';
import { Tensor } from '../../autograd/tensor.js';
import { Gpu } from '../../kernels/runtime/device.js';
import {
  type AttentionMasking,
  type CausalLM,
  CausalLMBase,
  type ForwardArgs,
  type ForwardResult,
  type GenerationModel,
  type LoadOptions,
  type SaveOptions,
  forwardMasking,
  releaseAndReturn,
  stepMasking,
  uploadCheckpoint,
} from '../causalLM.js';
import { streamCheckedTensors, torchDtypeName, writeModelDirectory } from '../checkpoint/checkpoint.js';
import { type GenerateOptions, generate } from '../generate.js';
import { resolveModelFiles } from '../checkpoint/hub.js';
import { flattenMatrix } from '../inputs.js';
import { KVCache } from '../kvCache.js';
import { type LlamaConfig, generationPadId, llamaConfigToJson, readLlamaConfig } from './llamaConfig.js';
import { llamaInitialValues, llamaParameterSpec } from './llamaParameters.js';
import { Parameter, uploadParameter } from '../parameters.js';
import { SeededRandom } from '../random.js';
import { forwardPositions, generationPositions, inverseFrequencies, rotaryAngles } from './rotaryAngles.js';

interface Linear {
  w: Tensor;
  b: Tensor | null;
}
interface Layer {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  qNorm: Tensor | null;
  kNorm: Tensor | null;
  gate: Linear;
  up: Linear;
  down: Linear;
  norm1: Tensor;
  norm2: Tensor;
}

/** The attention inputs of one decoder pass. */
interface AttentionPlan extends AttentionMasking {
  angles: RotaryAngles;
  cache: KVCache | null;
}

/** `weightsDtype: 'f16'` stores the projections' weight matrices as halves (inference only). */
function storedDtype(name: string, opts: LoadOptions): 'f32' | 'f16' {
  return opts.weightsDtype === 'f16' && /_proj\.weight$/.test(name) ? 'f16' : 'f32';
}

export class LlamaForCausalLM extends CausalLMBase implements CausalLM, GenerationModel {
  private readonly layers: Layer[];
  private readonly invFreq: Float32Array;

  private constructor(
    readonly config: LlamaConfig,
    gpu: Gpu,
    ownsGpu: boolean,
    params: Parameter[],
  ) {
    super(gpu, ownsGpu, params);
    if (config.attentionDropout > 0) process.stderr.write('kiln: attention_dropout > 0 is not implemented; attention probabilities are not dropped\n');
    this.invFreq = inverseFrequencies(config);
    const t = (name: string) => this.byName.get(name)?.data ?? null;
    const lin = (prefix: string): Linear => ({ w: t(`${prefix}.weight`)!, b: t(`${prefix}.bias`) });
    this.layers = [];
    for (let i = 0; i < config.numHiddenLayers; i++) {
      const p = `model.layers.${i}`;
      this.layers.push({
        q: lin(`${p}.self_attn.q_proj`),
        k: lin(`${p}.self_attn.k_proj`),
        v: lin(`${p}.self_attn.v_proj`),
        o: lin(`${p}.self_attn.o_proj`),
        qNorm: t(`${p}.self_attn.q_norm.weight`),
        kNorm: t(`${p}.self_attn.k_norm.weight`),
        gate: lin(`${p}.mlp.gate_proj`),
        up: lin(`${p}.mlp.up_proj`),
        down: lin(`${p}.mlp.down_proj`),
        norm1: t(`${p}.input_layernorm.weight`)!,
        norm2: t(`${p}.post_attention_layernorm.weight`)!,
      });
    }
  }

  /** A fresh model with HF's initialisation from a seeded stream. */
  static async fromConfig(config: LlamaConfig, opts: LoadOptions & { seed?: number } = {}): Promise<LlamaForCausalLM> {
    const gpu = opts.gpu ?? (await Gpu.create());
    const rng = new SeededRandom(opts.seed ?? 0);
    const params = llamaParameterSpec(config).map((spec) => uploadParameter(gpu, spec, llamaInitialValues(spec, config, rng), storedDtype(spec.name, opts)));
    return new LlamaForCausalLM(config, gpu, !opts.gpu, params);
  }

  /**
   * A local checkpoint directory or a hub repo id. Weights (safetensors, one file or sharded; f32,
   * f16 or bf16, widened to f32) are streamed one tensor at a time to the GPU.
   */
  static async fromPretrained(pathOrId: string, opts: LoadOptions = {}): Promise<LlamaForCausalLM> {
    const { dir } = await resolveModelFiles(pathOrId);
    const config = readLlamaConfig(`${dir}/config.json`);
    const gpu = opts.gpu ?? (await Gpu.create());
    const spec = llamaParameterSpec(config);
    const naming = { canonical: (n: string) => n, tiedHead: config.tieWordEmbeddings ? 'model.embed_tokens.weight' : null, family: config.modelType };
    const params = uploadCheckpoint(gpu, !opts.gpu, spec, streamCheckedTensors(dir, spec, naming), (name) => storedDtype(name, opts));
    return new LlamaForCausalLM(config, gpu, !opts.gpu, params);
  }

  get modelType(): string {
    return this.config.modelType;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }

  get generationPadId(): number {
    return generationPadId(this.config);
  }

  get eosTokenIds(): readonly number[] {
    return this.config.eosTokenIds;
  }

  /** The KV cache holds the key/value heads only (num_key_value_heads · head_dim per row), in f32. */
  newKVCache(B: number, capacity: number): KVCache {
    const { config } = this;
    return new KVCache(this.gpu, config.numHiddenLayers, B, capacity, config.numKeyValueHeads * config.headDim, 'f32');
  }

  /**
   * Logits and/or the loss. Positions default to HF's forward: 0..T-1 in every row, padded or
   * not (the rotation is relative, so left padding shifts every angle of a row alike).
   */
  forward(args: ForwardArgs): ForwardResult {
    const { gpu } = this;
    const prepared = this.prepareForward(args, this.config.vocabSize);
    const { B, T, mask, tape } = prepared;
    const positions = args.positionIds ? flattenMatrix(args.positionIds, 'positionIds').data : forwardPositions(B, T, 0);
    const plan: AttentionPlan = { angles: rotaryAngles(gpu, this.invFreq, positions), ...forwardMasking(gpu, mask, args.segmentIds, B, T), cache: null };
    const ctx: OpContext = { gpu, tape };
    const h = this.decoder(ctx, prepared.ids, B, T, plan);
    this.releasePlan(plan);
    const result = this.headAndLoss(ctx, h, this.headTable, prepared, args);
    h.release();
    return result;
  }

  /**
   * Generation's step (see OPTForCausalLM.lastPositionLogits), with HF generate's positions:
   * the count of real tokens before each one.
   */
  lastPositionLogits(ids: Int32Array, mask: Int32Array, B: number, T: number, cache: KVCache | null): Tensor {
    const { gpu } = this;
    const masking = stepMasking(gpu, mask, B, T, cache);
    const plan: AttentionPlan = { angles: rotaryAngles(gpu, this.invFreq, generationPositions(mask, B, mask.length / B, T)), ...masking, cache };
    const ctx: OpContext = { gpu, tape: null };
    const h = this.decoder(ctx, Uint32Array.from(ids), B, T, plan);
    this.releasePlan(plan);
    return this.lastRowLogits(ctx, h, this.headTable, B, T);
  }

  /** New tokens for each prompt (left-padded internally; KV cache). See generate.ts. */
  generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]> {
    return generate(this, inputIds, opts);
  }

  /** config.json + model.safetensors (+ tokenizer and extra files), as transformers saves and loads them. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const tensors = await this.hostTensors();
    writeModelDirectory(dir, {
      configJson: llamaConfigToJson(this.config, torchDtypeName(opts.dtype)),
      spec: llamaParameterSpec(this.config),
      tensors,
      dtype: opts.dtype,
      tokenizerFiles: opts.tokenizer?.files(),
      extraFiles: opts.extraFiles,
    });
  }

  /** The LM head's matrix: lm_head.weight, or the token embedding when tied. */
  private get headTable(): Tensor {
    return (this.byName.get('lm_head.weight') ?? this.byName.get('model.embed_tokens.weight')!).data;
  }

  private releasePlan(plan: AttentionPlan): void {
    plan.angles.cos.release();
    plan.angles.sin.release();
    plan.mask?.release();
    plan.segmentIds?.release();
  }

  /** Embeddings, the layers and the final norm: [B·T, hidden]. */
  private decoder(ctx: OpContext, ids: Uint32Array, B: number, T: number, plan: AttentionPlan): Tensor {
    const { config } = this;
    for (const id of ids) if (id >= config.vocabSize) throw new Error(`kiln: token id ${id} is outside the vocabulary (${config.vocabSize})`);
    const embed = this.byName.get('model.embed_tokens.weight')!.data;
    let h = embedding(ctx, ids, embed, { skipId: config.padTokenId ?? undefined });
    this.layers.forEach((layer, i) => {
      h = this.layer(ctx, layer, i, h, B, T, plan);
    });
    plan.cache?.advance(T);
    return releaseAndReturn(h, rmsNorm(ctx, h, this.byName.get('model.norm.weight')!.data, config.rmsNormEps));
  }

  private layer(ctx: OpContext, L: Layer, index: number, h: Tensor, B: number, T: number, plan: AttentionPlan): Tensor {
    const { numAttentionHeads: NH, numKeyValueHeads: NKV, headDim: D, rmsNormEps: eps } = this.config;
    const x = rmsNorm(ctx, h, L.norm1, eps);
    let q = linear(ctx, x, L.q.w, L.q.b);
    let k = linear(ctx, x, L.k.w, L.k.b);
    let v = linear(ctx, x, L.v.w, L.v.b);
    x.release();
    if (L.qNorm && L.kNorm) {
      q = releaseAndReturn(q, rmsNorm(ctx, q, L.qNorm, eps, D));
      k = releaseAndReturn(k, rmsNorm(ctx, k, L.kNorm, eps, D));
    }
    q = releaseAndReturn(q, rotary(ctx, q, plan.angles, NH, D));
    k = releaseAndReturn(k, rotary(ctx, k, plan.angles, NKV, D));
    const cache = plan.cache;
    const past = cache ? cache.length : 0;
    if (cache) {
      cache.write(index, k, v, T);
      k = releaseAndReturn(k, cache.k[index]!.retain());
      v = releaseAndReturn(v, cache.v[index]!.retain());
    }
    const kx = releaseAndReturn(k, expandKv(ctx, k, NKV, NH, D));
    const vx = releaseAndReturn(v, expandKv(ctx, v, NKV, NH, D));
    const a = attention(ctx, q, kx, vx, {
      B,
      NH,
      HS: D,
      Tq: T,
      Tk: past + T,
      kvRows: cache ? cache.capacity : T,
      mask: plan.mask,
      segmentIds: plan.segmentIds,
      everyRowSeesAKey: plan.everyRowSeesAKey,
      scale: D ** -0.5,
    });
    for (const t of [q, kx, vx]) t.release();
    const o = releaseAndReturn(a, linear(ctx, a, L.o.w, L.o.b));
    const s = releaseAndReturn(o, add(ctx, h, o));
    h.release();

    const y = rmsNorm(ctx, s, L.norm2, eps);
    const gate = linear(ctx, y, L.gate.w, L.gate.b);
    const up = linear(ctx, y, L.up.w, L.up.b);
    y.release();
    const m = gatedMlp(ctx, gate, up);
    gate.release();
    up.release();
    const d = releaseAndReturn(m, linear(ctx, m, L.down.w, L.down.b));
    const out = add(ctx, s, d);
    s.release();
    d.release();
    return out;
  }
}
