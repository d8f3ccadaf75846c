// Reading SFT data as users have it (ToolLLaMA conversations, answer trees, JSONL), streamed
// record by record without holding a large file in memory.
export * from './sources.js';
export * from './jsonStream.js';
