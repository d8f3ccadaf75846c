// The model under evaluation behind one interface: a kiln model, an OpenAI-compatible endpoint, or
// recorded answers replayed, with the batcher that gathers requests across queries.
export * from './policy.js';
export * from './policyBatcher.js';
export * from './kiln.js';
export * from './openai.js';
export * from './openaiChat.js';
export * from './replay.js';
