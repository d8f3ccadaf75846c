// Judges: the offline rule judge (call validity, evidence, whole leaves), ToolEval's 2023 pass rule,
// the LLM judge with its prompts, and the rule judge's agreement with ToolEval's labels.
export * from './judge.js';
export * from './rules.js';
export * from './callValidity.js';
export * from './evidence.js';
export * from './wholeLeaves.js';
export * from './tooleval2023.js';
export * from './llm.js';
export * from './judgePrompts.js';
export * from './judgeAgreement.js';
