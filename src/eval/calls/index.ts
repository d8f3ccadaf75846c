// What the agent, the environments and the judges read alike from ToolBench's calls: an action's
// input and Finish's arguments, a call's arguments checked, Python's json.dumps, the nesting limit.
export * from './actionInput.js';
export * from './apiArguments.js';
export * from './pythonJson.js';
export * from './nesting.js';
