// The SFT data pipeline: sources → validation → tokenization → overlong policy → batches, with
// the data report and the two ways an example is rendered (ToolLLaMA text, a chat template).
export * from './sources/sources.js';
export * from './sources/jsonStream.js';
export * from './validate.js';
export * from './tokenizeExample.js';
export * from './functionListText.js';
export * from './overlong.js';
export * from './batches.js';
export * from './dataReport.js';
export * from './prepare.js';
export * from './longTurns.js';
export * from './chatTemplateExamples.js';
export * from './fitSystemPrompt.js';
