// The ToolBench format layer shared by training and evaluation.
export * from './pythonRepr.js';
export * from './jsonLossless.js';
export * from './functions.js';
export * from './promptTemplate.js';
export * from './render.js';
export * from './answerTree.js';
