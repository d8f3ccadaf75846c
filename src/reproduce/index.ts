// The whole study in one command: prerequisites, download, length pre-flight, training, evaluation
// and the table beside the study's numbers, each stage resumable. It composes src/train and src/eval.
export * from './cli.js';
export * from './options.js';
export * from './prerequisites.js';
export * from './recoverTemplate.js';
export * from './stages.js';
export * from './state.js';
export * from './study.js';
