/**
 * The demo's four stages, parameterised by its knobs so docs/demo.md's experiments run the same
 * code as `npm run demo`: generate the data set, train a byte-level BPE tokenizer and a tiny model
 * from random weights, fine-tune it with the ordinary trainer, evaluate it with the ordinary
 * evaluation command line.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEvalCli } from '../../src/eval/cli/cli.js';
import type { EvalSummary } from '../../src/eval/report/report.js';
import { RESULTS_FILE, type QueryResult } from '../../src/eval/report/results.js';
import { Gpu } from '../../src/kernels/runtime/device.js';
import { optSpecialTokens, trainByteLevelBpe } from '../../src/model/tokenizer/bpeTrainer.js';
import { optConfig } from '../../src/model/opt/optConfig.js';
import { OPTForCausalLM } from '../../src/model/opt/opt.js';
import { LlamaForCausalLM } from '../../src/model/llama/llama.js';
import { parseLlamaConfig } from '../../src/model/llama/llamaConfig.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { DEFAULTS, validateOptions, type TrainOptions } from '../../src/train/options.js';
import { formatDuration } from '../../src/train/progress.js';
import { train, type TrainSummary } from '../../src/train/trainer.js';
import { madeExpectedCalls, namesAskedTopics } from './expectedCalls.js';
import { DEMO_CHAT_TOKENIZER_CONFIG, DEMO_PROMPT_TEMPLATE, generateDemoData, tokenizerCorpus, writeDemoData, type DemoData, type DemoDataOptions } from './data.js';

export interface DemoKnobs {
  data: DemoDataOptions;
  vocabSize: number;
  /** Numbers spelled one digit per token (the BPE trainer's `splitDigits`). */
  splitDigits: boolean;
  /** A word the same token after a space and after a quote (the BPE trainer's `separateSpaces`). */
  separateSpaces: boolean;
  /**
   * The model trained from random weights: `llama` (rotary positions, RMS norm, gated MLP, trained
   * through a chat template that prints ToolLLaMA's turns) or `opt` (learned positions, trained on
   * ToolLLaMA's text). `ffnDim` is OPT's ffn_dim or Llama's intermediate_size.
   */
  model: { architecture: 'opt' | 'llama'; hiddenSize: number; numHiddenLayers: number; numAttentionHeads: number; ffnDim: number; maxPositionEmbeddings: number };
  train: Pick<TrainOptions, 'lr' | 'epochs' | 'batchSize' | 'gradAccum' | 'schedule' | 'warmupSteps' | 'weightDecay' | 'maxLength' | 'lossOn' | 'packing'>;
  eval: { maxNewTokens: number; maxSteps: number };
}

/** One evaluation of the fine-tuned model on the held-out queries. */
export interface DemoEvaluation {
  summary: EvalSummary;
  results: QueryResult[];
  /** Share of the model's steps that parsed as Thought / Action / Action Input. */
  parseRate: number;
  /** The results Solved whose every needed call was made with the arguments the query states (expectedCalls.ts). */
  solvedWithStatedArguments: QueryResult[];
  /** The results Solved whose answer names every topic the query asks about (expectedCalls.ts). */
  solvedNamingTopics: QueryResult[];
  dir: string;
}

export interface DemoResult {
  /** The held-out queries by group, and the calls each asks for. */
  evalQueries: DemoData['evalQueries'];
  expectedCalls: DemoData['expectedCalls'];
  train: TrainSummary;
  /**
   * The same model evaluated twice: decoding freely, as ToolBench's runs do, and with the Action
   * line and its input constrained to the offered functions (`--constrain-actions`).
   */
  evaluations: { free: DemoEvaluation; constrained: DemoEvaluation };
  seconds: { data: number; train: number; eval: number; total: number };
}

export async function runDemo(
  knobs: DemoKnobs,
  root: string,
  log: (line: string) => void,
  progressStream?: NodeJS.WriteStream,
): Promise<DemoResult> {
  const started = performance.now();
  rmSync(root, { recursive: true, force: true });
  const dirs = { data: join(root, 'data'), init: join(root, 'init'), train: join(root, 'train') };

  log(`\n== 1/4 generating the demo data set`);
  const data = await generateDemoData(knobs.data);
  writeDemoData(dirs.data, data);
  const templateFile = join(dirs.data, 'prompt_template.txt');
  writeFileSync(templateFile, DEMO_PROMPT_TEMPLATE);
  const evalCount = Object.values(data.evalQueries).reduce((n, q) => n + q.length, 0);
  const trainedTools = data.tools.filter((t) => !t.heldOut).length;
  log(
    `${data.train.length} training trajectories over ${trainedTools} tools and ${data.glossary.length} glossary conversations, ` +
      `${evalCount} held-out queries in ${dirs.data} (${elapsedSince(started)})`,
  );

  // One device for initialising and training; the evaluation loads the checkpoint on its own.
  const gpu = await Gpu.create();
  let summary: TrainSummary;
  let dataSeconds: number;
  let trainSeconds: number;
  try {
    log(`\n== 2/4 training a byte-level BPE tokenizer and a tiny ${knobs.model.architecture === 'llama' ? 'Llama' : 'OPT'} from random weights`);
    await initialModel(knobs, data, dirs.init, gpu, log);
    log(`(${elapsedSince(started)})`);
    dataSeconds = secondsSince(started);
    const trainStarted = performance.now();
    summary = await fineTune(knobs, dirs, templateFile, gpu, log, progressStream);
    trainSeconds = secondsSince(trainStarted);
  } finally {
    gpu.destroy();
  }

  log(`\n== 4/4 evaluating on held-out queries (ReAct loop, offline tool simulator, rule judge)`);
  const evalStarted = performance.now();
  const free = await evaluate(knobs, summary.checkpoint, data, dirs.data, join(root, 'eval'), evalCount, false);
  log(`\nThe same model again, its Action line and input constrained to the offered functions:`);
  const constrained = await evaluate(knobs, summary.checkpoint, data, dirs.data, join(root, 'eval-constrained'), evalCount, true);
  return {
    evalQueries: data.evalQueries,
    expectedCalls: data.expectedCalls,
    train: summary,
    evaluations: { free, constrained },
    seconds: { data: dataSeconds, train: trainSeconds, eval: secondsSince(evalStarted), total: secondsSince(started) },
  };
}

/** The evaluation command line on the held-out queries, its summary and results read back. */
async function evaluate(
  knobs: DemoKnobs,
  checkpoint: string,
  data: DemoData,
  dataDir: string,
  dir: string,
  evalCount: number,
  constrain: boolean,
): Promise<DemoEvaluation> {
  const code = await runEvalCli([
    '--model', checkpoint,
    '--queries', join(dataDir, 'queries'),
    '--env', 'offline',
    '--judge', 'rules',
    '--out', dir,
    '--fresh',
    '--no-baselines',
    '--stop-after-action-input',
    ...(constrain ? ['--constrain-actions'] : []),
    '--max-new-tokens', String(knobs.eval.maxNewTokens),
    '--max-steps', String(knobs.eval.maxSteps),
    '--batch-size', String(evalCount),
  ]);
  if (code !== 0) throw new Error(`the evaluation exited with code ${code}`);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as EvalSummary;
  const results = readFileSync(join(dir, RESULTS_FILE), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as QueryResult);
  const steps = results.flatMap((r) => r.trajectory.steps);
  const solved = results.filter((r) => r.label === 'Solved');
  const expected = (r: QueryResult) => data.expectedCalls[r.query_id] ?? [];
  return {
    summary,
    results,
    parseRate: steps.filter((st) => st.parsed).length / Math.max(1, steps.length),
    solvedWithStatedArguments: solved.filter((r) => madeExpectedCalls(r, expected(r))),
    solvedNamingTopics: solved.filter((r) => namesAskedTopics(r, expected(r))),
    dir,
  };
}

/** One epoch of SFT on the trajectories from the initial model, saving the prompt template with the checkpoint. */
async function fineTune(
  knobs: DemoKnobs,
  dirs: Record<'data' | 'init' | 'train', string>,
  templateFile: string,
  gpu: Gpu,
  log: (line: string) => void,
  progressStream?: NodeJS.WriteStream,
): Promise<TrainSummary> {
  log(`\n== 3/4 fine-tuning (${knobs.train.epochs} epoch${knobs.train.epochs === 1 ? '' : 's'} of SFT on whole trajectories)`);
  const options: TrainOptions = validateOptions({
    ...DEFAULTS,
    ...knobs.train,
    model: dirs.init,
    data: [join(dirs.data, 'train.json')],
    out: dirs.train,
    saveSteps: 0,
    saveTotalLimit: 1,
    seed: knobs.data.seed,
    promptTemplate: templateFile,
  });
  return train(options, { gpu, log, ...(progressStream ? { progressStream } : {}) }, null);
}

/** A BPE tokenizer trained on the training conversations, and a randomly initialised model, saved to `dir`. */
async function initialModel(knobs: DemoKnobs, data: DemoData, dir: string, gpu: Gpu, log: (line: string) => void): Promise<void> {
  const bpe = trainByteLevelBpe(tokenizerCorpus(data), { vocabSize: knobs.vocabSize, specialTokens: optSpecialTokens, splitDigits: knobs.splitDigits, separateSpaces: knobs.separateSpaces });
  const llama = knobs.model.architecture === 'llama';
  const tokenizer = Tokenizer.fromVocabAndMerges(bpe.vocabJson, bpe.mergesTxt, llama ? DEMO_CHAT_TOKENIZER_CONFIG : {});
  // A multiple of 8 keeps the LM head's matmul on whole tiles; the extra rows are never targets.
  const vocabSize = Math.ceil(tokenizer.vocabSize / 8) * 8;
  const model = llama ? await initialLlama(knobs, tokenizer, vocabSize, gpu) : await initialOpt(knobs, tokenizer, vocabSize, gpu);
  const { model: m } = knobs;
  log(
    `vocabulary ${tokenizer.vocabSize}, ${llama ? 'Llama' : 'OPT'} with ${m.numHiddenLayers} layers, hidden ${m.hiddenSize}, ` +
      `${(model.numParameters() / 1e6).toFixed(2)}M parameters, context ${m.maxPositionEmbeddings}`,
  );
  await model.save(dir, { tokenizer });
  model.dispose();
}

async function initialOpt(knobs: DemoKnobs, tokenizer: Tokenizer, vocabSize: number, gpu: Gpu): Promise<OPTForCausalLM> {
  const { architecture: _, ...shape } = knobs.model;
  const config = optConfig({
    ...shape,
    vocabSize,
    wordEmbedProjDim: shape.hiddenSize,
    doLayerNormBefore: true,
    dropout: 0,
    attentionDropout: 0,
    padTokenId: tokenizer.padId,
    bosTokenId: tokenizer.bosId,
    eosTokenId: tokenizer.eosId,
  });
  return OPTForCausalLM.fromConfig(config, { gpu, seed: knobs.data.seed });
}

async function initialLlama(knobs: DemoKnobs, tokenizer: Tokenizer, vocabSize: number, gpu: Gpu): Promise<LlamaForCausalLM> {
  const m = knobs.model;
  const config = parseLlamaConfig({
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: vocabSize,
    hidden_size: m.hiddenSize,
    intermediate_size: m.ffnDim,
    num_hidden_layers: m.numHiddenLayers,
    num_attention_heads: m.numAttentionHeads,
    num_key_value_heads: m.numAttentionHeads,
    max_position_embeddings: m.maxPositionEmbeddings,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
    torch_dtype: 'float32',
  });
  return LlamaForCausalLM.fromConfig(config, { gpu, seed: knobs.data.seed });
}

function secondsSince(t: number): number {
  return (performance.now() - t) / 1000;
}

function elapsedSince(t: number): string {
  return formatDuration(secondsSince(t));
}
