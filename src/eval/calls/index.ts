// What the agent, the environments and the judges share about ToolBench's calls: an action's input,
// Finish's arguments, argument checks, Python's json.dumps, nesting, observation text, cut JSON.
export * from './actionInput.js';
export * from './apiArguments.js';
export * from './pythonJson.js';
export * from './nesting.js';
export * from './observation.js';
export * from './partialJson.js';
