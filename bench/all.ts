// `npm run bench`: every benchmark, one after another, each in its own process (one device each,
// so a failure or a leak in one cannot skew the next). Each prints its table and writes its JSON
// under bench/results/.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const suites = ['kernels', 'model', 'train'];
const failed: string[] = [];
for (const name of suites) {
  process.stdout.write(`\n=== bench:${name} ===\n`);
  const run = spawnSync(process.execPath, [join(here, `${name}.js`), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.status !== 0) failed.push(`${name} (exit ${run.status ?? run.signal})`);
}
if (failed.length > 0) {
  process.stderr.write(`\nkiln: benchmarks that failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
