#!/usr/bin/env node
// Thin launcher: the reproduce command lives in the built library (npm run build).
const { runReproduceCli } = await import('./dist/src/reproduce/cli.js').catch((err) => {
  console.error(`kiln: could not load dist/src/reproduce/cli.js (${err.message}). Run \`npm run build\` first.`);
  process.exit(1);
});
process.exitCode = await runReproduceCli(process.argv.slice(2));
