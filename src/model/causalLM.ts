/**
 * What every causal LM of kiln shares (OPT and the Llama family): the forward's arguments and
 * result, the load options, the parameter bookkeeping (HF names, gradients, the tapes a loss may
 * still backpropagate), the host side of a forward's inputs, and the LM head with its loss. A
 * model class adds its decoder and its checkpoint format.
 */
import { lmHead, lmHeadCrossEntropy, type OpContext } from '../autograd/ops.js';
import { Tape } from '../autograd/tape.js';
import { Tensor } from '../autograd/tensor.js';
import { everyRowSeesAKey } from '../kernels/attention/masking.js';
import type { Gpu } from '../kernels/runtime/device.js';
import type { DType } from './checkpoint/dtypes.js';
import type { GenerateOptions } from './generate.js';
import { type IntMatrix, flattenMatrix, shiftedTargets } from './inputs.js';
import type { KVCache } from './kvCache.js';
import type { ParameterSpec } from './parameterSpec.js';
import { type Parameter, uploadParameter } from './parameters.js';

export interface ForwardArgs {
  inputIds: IntMatrix;
  /** 1 real, 0 padding; default all 1. */
  attentionMask?: IntMatrix;
  /** Targets before the causal shift (HF's convention); -100 ignored. */
  labels?: IntMatrix;
  /** Explicit positions (e.g. restarting per packed sequence); default the model's (HF's) rule. */
  positionIds?: IntMatrix;
  /** Packed sequences: tokens attend only within their segment. */
  segmentIds?: IntMatrix;
  /** The loss is Σ CE / this (default: the count of real targets: HF's mean). */
  lossDenominator?: number;
  /** Dropout seed for this forward (training only); default a per-model counter. */
  dropoutSeed?: number;
  /** Return [B, T, V] logits; default true without labels, false with them. */
  returnLogits?: boolean;
  /** With labels: record the tape for loss.backward() (default true; false for evaluation). */
  grad?: boolean;
}

export interface ForwardResult {
  logits: Tensor | null;
  loss: Tensor | null;
}

export interface LoadOptions {
  /** The device to use; by default one is created and owned (destroyed by dispose()). */
  gpu?: Gpu;
  /**
   * 'f16' keeps the linear layers' weights as halves on the GPU: half their memory and half the
   * bytes each decoding step streams, with f32 arithmetic. Such a model is for inference only (no
   * training, no save). Default 'f32'.
   */
  weightsDtype?: 'f32' | 'f16';
}

export interface SaveOptions {
  tokenizer?: { files(): Record<string, string> };
  extraFiles?: Record<string, string | Uint8Array>;
  dtype?: DType;
}

/** The host side of one forward: flattened inputs, the shifted targets, and the tape if recording. */
export interface PreparedForward {
  ids: Uint32Array;
  B: number;
  T: number;
  mask: Int32Array;
  shifted: { targets: Int32Array; count: number } | null;
  tape: Tape | null;
}

/** The contract the trainer, the evaluator and generation rely on, whatever the architecture. */
export interface CausalLM {
  readonly gpu: Gpu;
  readonly modelType: string;
  readonly vocabSize: number;
  /** Positions the model was made for (max_position_embeddings): the longest sequence to train on. */
  readonly maxPositions: number;
  training: boolean;
  train(): this;
  eval(): this;
  forward(args: ForwardArgs): ForwardResult;
  namedParameters(): [string, Parameter][];
  parameter(name: string): Parameter;
  numParameters(): number;
  zeroGrad(): void;
  generate(inputIds: number[][], opts: GenerateOptions): Promise<number[][]>;
  save(dir: string, opts?: SaveOptions): Promise<void>;
  dispose(): void;
}

/** What generate() needs from a model: one decoding step, a KV cache of its shape, its special tokens. */
export interface GenerationModel {
  readonly gpu: Gpu;
  readonly vocabSize: number;
  /** Fills finished sequences (HF's pad_token_id, or its fallback). */
  readonly generationPadId: number;
  /** The config's end-of-sequence tokens. */
  readonly eosTokenIds: readonly number[];
  newKVCache(B: number, capacity: number): KVCache;
  lastPositionLogits(ids: Int32Array, mask: Int32Array, B: number, T: number, cache: KVCache | null): Tensor;
}

export abstract class CausalLMBase {
  training = false;
  protected readonly params: Parameter[];
  protected readonly byName: Map<string, Parameter>;
  /** Tapes whose loss may still be backpropagated (dispose() frees what they hold). */
  private liveTapes: Tape[] = [];

  protected constructor(
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    params: Parameter[],
  ) {
    this.params = params;
    this.byName = new Map(params.map((p) => [p.name, p]));
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  /** Every parameter under its HF name, in the architecture's spec order. */
  namedParameters(): [string, Parameter][] {
    return this.params.map((p) => [p.name, p]);
  }

  parameter(name: string): Parameter {
    const p = this.byName.get(name);
    if (!p) throw new Error(`kiln: no parameter named ${name}`);
    return p;
  }

  numParameters(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Frees the parameters, gradients and any pending tape; destroys the Gpu if this model created it. */
  dispose(): void {
    for (const t of this.liveTapes) t.dispose();
    this.liveTapes = [];
    for (const p of this.params) if (!p.data.released) p.release();
    if (this.ownsGpu) this.gpu.destroy();
  }

  /** Every parameter's values on the host, for saving (refused for inference-only f16 weights). */
  protected async hostTensors(): Promise<Map<string, Float32Array>> {
    if (this.params.some((p) => p.data.dtype === 'f16')) throw new Error('kiln: a model loaded with f16 weights cannot be saved (load it in f32)');
    const tensors = new Map<string, Float32Array>();
    for (const p of this.params) tensors.set(p.name, await p.data.toArray());
    return tensors;
  }

  /** Flattens and checks a forward's inputs; opens a tape when a loss will be backpropagated. */
  protected prepareForward(args: ForwardArgs, vocabSize: number): PreparedForward {
    const flat = flattenMatrix(args.inputIds, 'inputIds');
    const { B, T } = flat;
    const mask = args.attentionMask ? flattenMatrix(args.attentionMask, 'attentionMask').data : new Int32Array(B * T).fill(1);
    if (mask.length !== B * T) throw new Error('kiln: attentionMask must have the shape of inputIds');
    const labels = args.labels ? flattenMatrix(args.labels, 'labels') : null;
    if (labels && (labels.B !== B || labels.T !== T)) throw new Error('kiln: labels must have the shape of inputIds');
    const shifted = labels ? shiftedTargets(labels.data, B, T, vocabSize) : null;
    // Only a loss can start backward, so without labels nothing is recorded.
    const tape = shifted && (args.grad ?? true) ? new Tape(this.gpu) : null;
    if (tape) {
      this.liveTapes = this.liveTapes.filter((t) => !t.spent);
      this.liveTapes.push(tape);
      for (const p of this.params) void p.grad; // allocates (zeroed) gradients on first use
    }
    return { ids: Uint32Array.from(flat.data), B, T, mask, shifted, tape };
  }

  /** The LM head over the decoder's output h [B·T, E] with `table` [V, E]: logits and/or the loss. */
  protected headAndLoss(ctx: OpContext, h: Tensor, table: Tensor, prepared: PreparedForward, args: ForwardArgs): ForwardResult {
    const { B, T, shifted, tape } = prepared;
    const V = table.shape[0]!;
    let logits: Tensor | null = null;
    let loss: Tensor | null = null;
    if (shifted) {
      if (args.returnLogits) logits = Tensor.empty(this.gpu, [B, T, V], 'logits');
      loss = lmHeadCrossEntropy(ctx, h, table, shifted.targets, args.lossDenominator ?? shifted.count, logits);
      // A loss released without backward() lets its tape's saved activations go.
      if (tape) loss.whenFreed(() => tape.dispose());
    } else if (args.returnLogits ?? true) {
      logits = lmHead(ctx, h, table, [B, T, V]);
    }
    return { logits, loss };
  }

  /** The logits [B, V] of each sequence's last row of h [B·T, E] (generation's step); releases h. */
  protected lastRowLogits(ctx: OpContext, h: Tensor, table: Tensor, B: number, T: number): Tensor {
    const [V, E] = table.shape as [number, number];
    let last = h;
    if (T > 1) {
      last = Tensor.empty(this.gpu, [B, E], 'last-hidden');
      for (let b = 0; b < B; b++) this.gpu.copy(h.buffer, ((b + 1) * T - 1) * E * 4, last.buffer, b * E * 4, E * 4);
      h.release();
    }
    const logits = lmHead(ctx, last, table, [B, V]);
    last.release();
    return logits;
  }
}

/**
 * A checkpoint's tensors uploaded one at a time (each read, uploaded, then dropped on the host),
 * returned in spec order. On failure what was uploaded is freed, and the Gpu too when `ownsGpu`.
 */
export function uploadCheckpoint(
  gpu: Gpu,
  ownsGpu: boolean,
  spec: readonly ParameterSpec[],
  tensors: Iterable<{ name: string; data: Float32Array }>,
  dtypeOf: (name: string) => 'f32' | 'f16',
): Parameter[] {
  const specs = new Map(spec.map((s) => [s.name, s]));
  const loaded = new Map<string, Parameter>();
  try {
    for (const { name, data } of tensors) loaded.set(name, uploadParameter(gpu, specs.get(name)!, data, dtypeOf(name)));
  } catch (err) {
    for (const p of loaded.values()) p.release();
    if (ownsGpu) gpu.destroy();
    throw err;
  }
  return spec.map((s) => loaded.get(s.name)!);
}

/** Attention's masking inputs, as every decoder uploads them. */
export interface AttentionMasking {
  /** u32 [B, kvRows], or null when nothing is padded. */
  mask: Tensor | null;
  segmentIds: Tensor | null;
  /** Every query row sees a key (lets attention skip the causal half under a mask). */
  everyRowSeesAKey: boolean;
}

/** A forward's masking from its [B, T] mask and, for packed sequences, segment ids. */
export function forwardMasking(gpu: Gpu, mask: Int32Array, segmentIds: IntMatrix | undefined, B: number, T: number): AttentionMasking {
  const segments = segmentIds ? Uint32Array.from(flattenMatrix(segmentIds, 'segmentIds').data) : null;
  return {
    mask: mask.includes(0) ? Tensor.fromArray(gpu, Uint32Array.from(mask), [B, T], 'attention-mask') : null,
    segmentIds: segments ? Tensor.fromArray(gpu, segments, [B, T], 'segment-ids') : null,
    everyRowSeesAKey: everyRowSeesAKey(mask, segments, B, T),
  };
}

/**
 * A generation step's masking: `mask` ([B, Tk]) covers the cache's rows and the T new ones, laid
 * out over the cache's capacity. Prefill under left padding leaves rows blind; decoding (Tq < Tk)
 * never skips.
 */
export function stepMasking(gpu: Gpu, mask: Int32Array, B: number, T: number, cache: KVCache | null): AttentionMasking {
  const Tk = mask.length / B;
  const past = cache ? cache.length : 0;
  if (Tk !== past + T) throw new Error(`kiln: mask covers ${Tk} keys, expected ${past} cached + ${T} new`);
  return { mask: generationMask(gpu, mask, B, cache ? cache.capacity : Tk), segmentIds: null, everyRowSeesAKey: past === 0 && everyRowSeesAKey(mask, null, B, T) };
}

/** A decoding step's mask in the attention kernel's layout: [B, kvRows] (the cache's capacity), or null when nothing is padded. */
function generationMask(gpu: Gpu, mask: Int32Array, B: number, kvRows: number): Tensor | null {
  if (!mask.includes(0)) return null;
  const Tk = mask.length / B;
  const rows = new Uint32Array(B * kvRows);
  for (let b = 0; b < B; b++) for (let t = 0; t < Tk; t++) rows[b * kvRows + t] = mask[b * Tk + t]!;
  return Tensor.fromArray(gpu, rows, [B, kvRows], 'attention-mask');
}

/** Drops the caller's reference to `old` and returns `next` (the op that read `old` has run). */
export function releaseAndReturn(old: Tensor, next: Tensor): Tensor {
  old.release();
  return next;
}
