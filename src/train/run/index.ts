// The named steps of one training run (trainer.ts runs them in order): inputs and data, the plan
// and its resume check, the step's batches and optimization, the tally, the stop, checkpoints, summary.
export * from './runInputs.js';
export * from './trainingPlan.js';
export * from './stepBatches.js';
export * from './optimization.js';
export * from './outOfMemory.js';
export * from './runTally.js';
export * from './nonFiniteStop.js';
export * from './saveRun.js';
export * from './summary.js';
