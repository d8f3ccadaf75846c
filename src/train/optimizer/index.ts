// The optimizer step's parts: AdamW as torch computes it, global-norm gradient clipping, and the
// learning-rate schedules as transformers defines them.
export * from './adamw.js';
export * from './clip.js';
export * from './schedule.js';
