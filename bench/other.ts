import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Gpu } from '../src/kernels/runtime/device.js';
import { formatTable, markCopyFraction, type BenchRow } from './harness.js';
import { kernelsOtherBench, libraryKernels, type OtherKernels } from './kernelsOther.js';
import { copyBench } from './runtime.js';

/**
 * `node dist/bench/other.js [--baseline DIR] [--only REGEX] [--reps N]`: copyBufferToBuffer (the
 * bandwidth ceiling), then the kernels besides matmul (bench/kernelsOther.ts), N times over (the
 * table keeps every run; read medians: the machine is shared, and while others load it, the
 * cpu-est GB/s column, which wall-clock contention barely moves; "of copy" is each memory-bound row
 * over the fastest copy of the run). With --baseline, DIR holds an older
 * build of src/kernels (attention/attention.js, norms/layerNorm.js, crossEntropy.js and adamw.js),
 * timed back to back with the library's, shape by shape. A baseline from the last commit:
 *
 *   mkdir -p dist/.baseline && git archive HEAD src/kernels | tar -x -C dist/.baseline
 *   echo '{"extends":"../../tsconfig.json","compilerOptions":{"rootDir":".","outDir":"js"},"include":["src"]}' > dist/.baseline/tsconfig.json
 *   npx tsc -p dist/.baseline/tsconfig.json && npm run build
 *   node dist/bench/other.js --baseline dist/.baseline/js/src/kernels --only 'layerNorm|crossEntropy' --reps 3
 */
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const sets: [string, OtherKernels][] = [];
const baseline = arg('--baseline');
if (baseline) {
  const load = (f: string) => import(pathToFileURL(resolve(baseline, `${f}.js`)).href);
  const [att, ln, ce, ad] = await Promise.all(['attention/attention', 'norms/layerNorm', 'crossEntropy', 'adamw'].map(load));
  sets.push(['before', { ...att, ...ln, ...ce, ...ad } as OtherKernels]);
}
sets.push([baseline ? 'after' : '', libraryKernels]);
const only = new RegExp(arg('--only') ?? '.');
const reps = Number(arg('--reps') ?? 1);

const log = (line: string) => process.stderr.write(`${line}\n`);
const gpu = await Gpu.create();
log(`device: ${gpu.adapter.description}, subgroup size ${gpu.subgroupWidth.lanes ?? 'unknown'}`);
const rows: BenchRow[] = [];
for (let r = 0; r < reps; r++) {
  rows.push(...(await copyBench(gpu, log)));
  rows.push(...(await kernelsOtherBench(gpu, log, sets, only)));
}
gpu.destroy();
console.log(formatTable(markCopyFraction(rows)));
