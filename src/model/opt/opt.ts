/**
 * OPTForCausalLM as Hugging Face's modeling_opt.py computes it, for both OPT families:
 * pre-LN with a final layer norm (125m, 1.3b, ...) and 350m's post-LN without one, with
 * project_in/project_out when word_embed_proj_dim != hidden_size. The LM head is the token
 * embedding (tied), so its gradient adds into embed_tokens'.
 *
 *   h = embed_tokens[ids] (→ project_in) + embed_positions[cumsum(mask)·mask − 1 + 2]
 *   pre-LN layer:  h = h + drop(attn(LN1(h)));  h = h + drop(fc2(relu(fc1(LN2(h)))))
 *   post-LN layer: h = LN1(h + drop(attn(h)));  h = LN2(h + drop(fc2(relu(fc1(h)))))
 *   then final_layer_norm (pre-LN, unless removed), project_out, logits = h·embed_tokensᵀ
 */
import { attention, add, dropout, embedding, layerNorm, linear, type OpContext } from '../../autograd/ops.js';
import { Tensor } from '../../autograd/tensor.js';
import { Gpu } from '../../kernels/runtime/device.js';
import { type AttentionMasking, type CausalLM, CausalLMBase, type ForwardArgs, type ForwardResult, type GenerationModel, type LoadOptions, type SaveOptions, forwardMasking, releaseAndReturn, stepMasking, uploadCheckpoint } from '../causalLM.js';
import { saveCheckpoint, streamCheckpointTensors } from '../checkpoint/checkpoint.js';
import { type OptConfig, readOptConfig } from './optConfig.js';
import { type GenerateOptions, generate } from '../generate.js';
import { resolveModelFiles } from '../checkpoint/hub.js';
import { flattenMatrix, offsetPositionIds, positionIdsFromMask } from '../inputs.js';
import { KVCache, type KVCacheDtype } from '../kvCache.js';
import { optParameterSpec } from '../parameterSpec.js';
import { Parameter, initialValues, uploadParameter } from '../parameters.js';
import { SeededRandom } from '../random.js';

export type { ForwardArgs, ForwardResult, LoadOptions } from '../causalLM.js';

interface Linear {
  w: Tensor;
  b: Tensor | null;
}
interface Norm {
  g: Tensor | null;
  b: Tensor | null;
}
interface Layer {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  ln1: Norm;
  fc1: Linear;
  fc2: Linear;
  ln2: Norm;
}

/** The attention inputs of one decoder pass. */
interface AttentionPlan extends AttentionMasking {
  cache: KVCache | null;
}

/** How a parameter is stored: `weightsDtype: 'f16'` stores the weight matrices of nn.Linear layers as halves. */
function storedDtype(name: string, opts: LoadOptions): 'f32' | 'f16' {
  return opts.weightsDtype === 'f16' && /(_proj|fc1|fc2|project_in|project_out)\.weight$/.test(name) ? 'f16' : 'f32';
}

export class OPTForCausalLM extends CausalLMBase implements CausalLM, GenerationModel {
  readonly modelType = 'opt';
  private readonly layers: Layer[];
  private readonly HS: number;
  private dropoutCounter: number;

  private constructor(
    readonly config: OptConfig,
    gpu: Gpu,
    ownsGpu: boolean,
    params: Parameter[],
    seed: number,
  ) {
    super(gpu, ownsGpu, params);
    if (config.attentionDropout > 0) {
      process.stderr.write('kiln: attention_dropout > 0 is not implemented; attention probabilities are not dropped\n');
    }
    this.HS = config.hiddenSize / config.numAttentionHeads;
    this.dropoutCounter = seed >>> 0;
    const t = (name: string) => this.byName.get(name)?.data ?? null;
    const lin = (prefix: string): Linear => ({ w: t(`${prefix}.weight`)!, b: t(`${prefix}.bias`) });
    const norm = (prefix: string): Norm => ({ g: t(`${prefix}.weight`), b: t(`${prefix}.bias`) });
    this.layers = [];
    for (let i = 0; i < config.numHiddenLayers; i++) {
      const p = `model.decoder.layers.${i}`;
      this.layers.push({
        q: lin(`${p}.self_attn.q_proj`),
        k: lin(`${p}.self_attn.k_proj`),
        v: lin(`${p}.self_attn.v_proj`),
        o: lin(`${p}.self_attn.out_proj`),
        ln1: norm(`${p}.self_attn_layer_norm`),
        fc1: lin(`${p}.fc1`),
        fc2: lin(`${p}.fc2`),
        ln2: norm(`${p}.final_layer_norm`),
      });
    }
  }

  /** A fresh model with HF's initialisation from a seeded stream. */
  static async fromConfig(config: OptConfig, opts: LoadOptions & { seed?: number } = {}): Promise<OPTForCausalLM> {
    const gpu = opts.gpu ?? (await Gpu.create());
    const rng = new SeededRandom(opts.seed ?? 0);
    const params = optParameterSpec(config).map((spec) => uploadParameter(gpu, spec, initialValues(spec, config, rng), storedDtype(spec.name, opts)));
    return new OPTForCausalLM(config, gpu, !opts.gpu, params, opts.seed ?? 0);
  }

  /**
   * A local checkpoint directory or a hub repo id (downloaded into the cache first). Weights are
   * streamed one tensor at a time to the GPU; f16/bf16 checkpoints are widened to f32.
   */
  static async fromPretrained(pathOrId: string, opts: LoadOptions = {}): Promise<OPTForCausalLM> {
    const { dir } = await resolveModelFiles(pathOrId);
    const config = readOptConfig(`${dir}/config.json`);
    const gpu = opts.gpu ?? (await Gpu.create());
    const params = uploadCheckpoint(gpu, !opts.gpu, optParameterSpec(config), streamCheckpointTensors(dir, config), (name) => storedDtype(name, opts));
    return new OPTForCausalLM(config, gpu, !opts.gpu, params, 0);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }

  get generationPadId(): number {
    return this.config.padTokenId;
  }

  get eosTokenIds(): readonly number[] {
    return [this.config.eosTokenId];
  }

  newKVCache(B: number, capacity: number): KVCache {
    return new KVCache(this.gpu, this.config.numHiddenLayers, B, capacity, this.config.hiddenSize, this.kvCacheDtype);
  }

  /**
   * Logits and/or the loss. With labels (and `grad` not false) the ops are recorded and
   * `loss.backward()` adds every parameter's gradient. The caller releases the returned tensors;
   * releasing the loss without backward frees the recorded activations.
   */
  forward(args: ForwardArgs): ForwardResult {
    const { gpu } = this;
    const prepared = this.prepareForward(args, this.config.vocabSize);
    const { B, T, mask, tape } = prepared;
    const positions = args.positionIds
      ? offsetPositionIds(flattenMatrix(args.positionIds, 'positionIds').data)
      : positionIdsFromMask(mask, B, T, T);
    const plan: AttentionPlan = { ...forwardMasking(gpu, mask, args.segmentIds, B, T), cache: null };
    const ctx: OpContext = { gpu, tape };
    const seed = this.training ? (args.dropoutSeed ?? this.nextDropoutSeed()) >>> 0 : null;
    const h = this.decoder(ctx, prepared.ids, positions, B, T, plan, seed);
    plan.mask?.release();
    plan.segmentIds?.release();
    const result = this.headAndLoss(ctx, h, this.embedTokens, prepared, args);
    h.release();
    return result;
  }

  /**
   * Generation's step: runs `ids` ([B, T], the new tokens) through the decoder, appending their
   * keys and values to `cache` when given, and returns the logits of each sequence's last
   * position, [B, V]. `mask` covers every key so far ([B, Tk], Tk = cached rows + T).
   */
  lastPositionLogits(ids: Int32Array, mask: Int32Array, B: number, T: number, cache: KVCache | null): Tensor {
    const { gpu } = this;
    const plan: AttentionPlan = { ...stepMasking(gpu, mask, B, T, cache), cache };
    const ctx: OpContext = { gpu, tape: null };
    const positions = positionIdsFromMask(mask, B, mask.length / B, T);
    const h = this.decoder(ctx, Uint32Array.from(ids), positions, B, T, plan, null);
    plan.mask?.release();
    return this.lastRowLogits(ctx, h, this.embedTokens, B, T);
  }

  /**
   * The dtype a KV cache filled by this model stores (KVCache's default): 'f16' when the model was
   * loaded with f16 weights (inference only, and already at f16's precision), else 'f32'.
   */
  get kvCacheDtype(): KVCacheDtype {
    return this.params.some((p) => p.data.dtype === 'f16') ? 'f16' : 'f32';
  }

  /** New tokens for each prompt (left-padded internally; KV cache). See generate.ts. */
  generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]> {
    return generate(this, inputIds, opts);
  }

  /** config.json + model.safetensors (+ tokenizer and extra files) in HF's layout. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const tensors = await this.hostTensors();
    saveCheckpoint(dir, { config: this.config, tensors, dtype: opts.dtype, tokenizerFiles: opts.tokenizer?.files(), extraFiles: opts.extraFiles });
  }

  private get embedTokens(): Tensor {
    return this.byName.get('model.decoder.embed_tokens.weight')!.data;
  }

  private nextDropoutSeed(): number {
    this.dropoutCounter = (this.dropoutCounter + 0x9e3779b9) >>> 0;
    return this.dropoutCounter;
  }

  /** Embeddings, the layers, final norm and project_out: [B·T, word_embed_proj_dim]. */
  private decoder(ctx: OpContext, ids: Uint32Array, positions: Uint32Array, B: number, T: number, plan: AttentionPlan, seed: number | null): Tensor {
    const { config } = this;
    for (const id of ids) if (id >= config.vocabSize) throw new Error(`kiln: token id ${id} is outside the vocabulary (${config.vocabSize})`);
    for (const p of positions) {
      if (p >= config.maxPositionEmbeddings + 2) {
        throw new Error(`kiln: position ${p - 2} exceeds max_position_embeddings ${config.maxPositionEmbeddings}`);
      }
    }
    const param = (name: string) => this.byName.get(`model.decoder.${name}`)?.data ?? null;
    let x = embedding(ctx, ids, param('embed_tokens.weight')!, { skipId: config.padTokenId });
    const projectIn = param('project_in.weight');
    if (projectIn) x = releaseAndReturn(x, linear(ctx, x, projectIn, null));
    let h = releaseAndReturn(x, embedding(ctx, positions, param('embed_positions.weight')!, { base: x }));

    // Each dropout site gets its own seed derived from the forward's: masks never repeat.
    let site = 0;
    const drop = (t: Tensor) => {
      if (seed === null || config.dropout === 0) return t;
      return releaseAndReturn(t, dropout(ctx, t, config.dropout, (seed + Math.imul(++site, 0x85ebca6b)) >>> 0, 0));
    };
    const layerdrop = seed !== null && config.layerdrop > 0 ? new SeededRandom(seed) : null;
    this.layers.forEach((layer, i) => {
      if (layerdrop && layerdrop.next() < config.layerdrop) return;
      h = this.layer(ctx, layer, i, h, B, T, plan, drop);
    });
    plan.cache?.advance(T);

    if (config.doLayerNormBefore && !config.removeFinalLayerNorm) {
      h = releaseAndReturn(h, layerNorm(ctx, h, param('final_layer_norm.weight'), param('final_layer_norm.bias')));
    }
    const projectOut = param('project_out.weight');
    if (projectOut) h = releaseAndReturn(h, linear(ctx, h, projectOut, null));
    return h;
  }

  private layer(ctx: OpContext, L: Layer, index: number, h: Tensor, B: number, T: number, plan: AttentionPlan, drop: (t: Tensor) => Tensor): Tensor {
    const preLN = this.config.doLayerNormBefore;
    const NH = this.config.numAttentionHeads;
    const x = preLN ? layerNorm(ctx, h, L.ln1.g, L.ln1.b) : h.retain();
    const q = linear(ctx, x, L.q.w, L.q.b);
    let k = linear(ctx, x, L.k.w, L.k.b);
    let v = linear(ctx, x, L.v.w, L.v.b);
    x.release();
    const cache = plan.cache;
    const past = cache ? cache.length : 0;
    if (cache) {
      cache.write(index, k, v, T);
      k.release();
      v.release();
      k = cache.k[index]!.retain();
      v = cache.v[index]!.retain();
    }
    const a = attention(ctx, q, k, v, {
      B,
      NH,
      HS: this.HS,
      Tq: T,
      Tk: past + T,
      kvRows: cache ? cache.capacity : T,
      mask: plan.mask,
      segmentIds: plan.segmentIds,
      everyRowSeesAKey: plan.everyRowSeesAKey,
      scale: this.HS ** -0.5,
    });
    for (const t of [q, k, v]) t.release();
    const o = drop(releaseAndReturn(a, linear(ctx, a, L.o.w, L.o.b)));
    let s = releaseAndReturn(o, add(ctx, h, o));
    h.release();
    if (!preLN) s = releaseAndReturn(s, layerNorm(ctx, s, L.ln1.g, L.ln1.b));

    const y = preLN ? layerNorm(ctx, s, L.ln2.g, L.ln2.b) : s.retain();
    const f = releaseAndReturn(y, linear(ctx, y, L.fc1.w, L.fc1.b, true));
    const g = drop(releaseAndReturn(f, linear(ctx, f, L.fc2.w, L.fc2.b)));
    let out = releaseAndReturn(g, add(ctx, s, g));
    s.release();
    if (!preLN) out = releaseAndReturn(out, layerNorm(ctx, out, L.ln2.g, L.ln2.b));
    return out;
  }
}
