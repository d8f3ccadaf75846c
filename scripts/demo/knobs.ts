/**
 * The demo's knobs in one place: data size, tokenizer, model shape, recipe and evaluation budget.
 * What each was chosen against, with the measurements, is in docs/demo.md.
 */
import type { DemoKnobs } from './run.js';

export const DEMO: DemoKnobs = {
  data: { seed: 1234, trainQueries: 6000, evalQueriesPerGroup: 8, toolsPerCategory: 6, heldOutToolsPerCategory: 1, retryShare: 0, argumentErrorShare: 0, renamedTopicShare: 0, glossaryPerCategory: 25 },
  vocabSize: 2048,
  splitDigits: true,
  separateSpaces: false,
  model: { architecture: 'llama', hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, ffnDim: 512, maxPositionEmbeddings: 512 },
  train: { lr: 3e-3, epochs: 1, batchSize: 2, gradAccum: 1, schedule: 'cosine', warmupSteps: 20, weightDecay: 0.01, maxLength: 512, lossOn: 'assistant', packing: false },
  eval: { maxNewTokens: 96, maxSteps: 6 },
};
