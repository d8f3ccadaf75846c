#!/usr/bin/env node
// Thin launcher: the evaluation command lives in the built library (npm run build).
const { runEvalCli } = await import('./dist/src/eval/cli/cli.js').catch((err) => {
  console.error(`kiln: could not load dist/src/eval/cli/cli.js (${err.message}). Run \`npm run build\` first.`);
  process.exit(1);
});
process.exitCode = await runEvalCli(process.argv.slice(2));
