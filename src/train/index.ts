// Fine-tuning: the training loop (trainer.ts, its steps in run/), SFT data, the optimizer,
// checkpoints, metrics, the loss curve and the train command.
export * from './trainer.js';
export * from './trainerState.js';
export * from './options.js';
export * from './accumulation.js';
export * from './checkpoints.js';
export * from './runDirectory.js';
export * from './metrics.js';
export * from './lossCurve.js';
export * from './png.js';
export * from './progress.js';
export * from './cli.js';
export * from './run/index.js';
export * from './data/index.js';
export * from './optimizer/index.js';
