// The ToolBench format layer shared by training and evaluation: formats, rendering, fitting
// policies and the length pre-flight.
export * from './pythonRepr.js';
export * from './jsonLossless.js';
export * from './functions.js';
export * from './promptTemplate.js';
export * from './render.js';
export * from './answerTree.js';
export * from './pythonLiteral.js';
export * from './fitting.js';
export * from './preflight.js';
