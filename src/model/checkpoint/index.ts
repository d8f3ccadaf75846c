// Weights on disk: Hugging Face's checkpoint directories (safetensors, sharded, torch.save's zip and
// pickle), their dtypes, and where they come from (the Hub, the local Hugging Face cache).
export * from './checkpoint.js';
export * from './safetensors.js';
export * from './shardIndex.js';
export * from './torchBin.js';
export * from './torchZip.js';
export * from './torchPickle.js';
export * from './dtypes.js';
export * from './positionedRead.js';
export * from './hub.js';
export * from './hfCache.js';
