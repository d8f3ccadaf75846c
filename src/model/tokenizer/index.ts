// Tokenizers: byte-level BPE (OPT's and the Llama family's) run by @huggingface/tokenizers, GPT-2's
// byte alphabet, chat templates rendered as transformers renders them, and the demo's BPE trainer.
export * from './tokenizer.js';
export * from './byteLevel.js';
export * from './chatTemplate.js';
export * from './bpeTrainer.js';
