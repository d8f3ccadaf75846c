// The `node eval.js` command: its options table, turning options into the run's parts,
// running with a progress line, and writing the report.
export * from './cli.js';
export * from './cliArgs.js';
export * from './cliSetup.js';
export * from './queryProgress.js';
