// Evaluation on ToolBench: queries, the agent, policies, tool environments, judges, recorded
// answers, reports and the eval command, each in its folder; the run itself is runEval.ts.
export * from './queries.js';
export * from './queryPreflight.js';
export * from './runEval.js';
export * from './trajectory.js';
export * from './httpJson.js';
export * from './secrets.js';
export * from './textSeededRandom.js';
export * from './agent/index.js';
export * from './calls/index.js';
export * from './policies/index.js';
export * from './envs/index.js';
export * from './judges/index.js';
export * from './recorded/index.js';
export * from './report/index.js';
export * from './cli/index.js';
