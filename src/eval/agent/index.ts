// The agent as ToolBench runs it: the conversation's opening, the ReAct text read and written, an
// action carried out, the two searches over them (CoT and DFSDT), and the constrained Action line.
export * from './agentLoop.js';
export * from './dfsdt.js';
export * from './conversation.js';
export * from './chatPrompt.js';
export * from './react.js';
export * from './executeAction.js';
export * from './actionNames.js';
export * from './actionInputGrammar.js';
