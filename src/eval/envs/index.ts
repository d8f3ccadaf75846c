// Tool environments behind one interface: the offline simulator (filling template responses),
// ToolBench's RapidAPI and StableToolBench's servers, and replay of recorded replies.
export * from './environment.js';
export * from './offline.js';
export * from './templateResponse.js';
export * from './rapidapi.js';
export * from './stabletoolbench.js';
export * from './toolServerBody.js';
export * from './replay.js';
