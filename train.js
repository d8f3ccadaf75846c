#!/usr/bin/env node
// Thin launcher: the training command lives in the built library (npm run build).
const { runTrainCli } = await import('./dist/src/train/cli.js').catch((err) => {
  console.error(`kiln: could not load dist/src/train/cli.js (${err.message}). Run \`npm run build\` first.`);
  process.exit(1);
});
process.exitCode = await runTrainCli(process.argv.slice(2));
