import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../src/kernels/runtime/device.js';
import { formatTable, markCopyFraction, type BenchRow } from './harness.js';
import { formatHostFacts, hostFacts, withAnchorVersions } from './hostFacts.js';
import { kernelsOtherBench } from './kernelsOther.js';
import { matmulBench } from './matmul.js';
import { blasKernel, matmulAnchorRows, runMatmulAnchors } from './matmulAnchors.js';
import { memoryBoundBench } from './memoryBound.js';
import { arg, writeJsonResult } from './results.js';
import { copyBench, dispatchBench, robustnessBench, waitingBench } from './runtime.js';

/**
 * `npm run bench:kernels`: validates, then times every kernel family listed below, prints one table
 * and writes bench/results/kernels.json (or `--json PATH`). To add a family, write
 * bench/<family>.ts exporting `(gpu, log) => Promise<BenchRow[]>` (validate on a small case against
 * test/reference first, then `benchKernel` per shape) and add it to FAMILIES. `--families
 * copy,matmul` times only the families whose names start with those words (gpu-check's quick mode).
 * The matmul rows are anchored by numpy's sgemm and, on a CUDA card, torch's matmuls, measured in
 * the same run (bench/matmulAnchors.ts); `--no-anchor` skips them.
 *
 * On lavapipe, LP_NATIVE_VECTOR_WIDTH=512 (read when the driver loads) selects 16-wide SIMD on
 * AVX-512 hosts; run the bench once with and once without it to compare.
 */
type Family = (gpu: Gpu, log: (line: string) => void) => Promise<BenchRow[]>;
// The memory-bound rows are reported as fractions of the fastest copy in the run (markCopyFraction);
// timing it again after matmul, which takes minutes, gives a shared machine's quiet moments two chances.
const FAMILIES: [string, Family][] = [
  ['copy', copyBench],
  ['matmul', matmulBench],
  ['copy, again', copyBench],
  ['layer norm, attention, cross-entropy, AdamW', (gpu, log) => kernelsOtherBench(gpu, log)],
  ['elementwise, embedding, gradient norm', memoryBoundBench],
];

const log = (line: string) => process.stderr.write(`${line}\n`);
const only = arg('families', '').split(',').filter(Boolean);
const selected = (name: string) => only.length === 0 || only.some((w) => name.startsWith(w));
const started = performance.now();
const rows: BenchRow[] = [];

const gpu = await Gpu.create();
log('waiting strategies:');
rows.push(...(await waitingBench(gpu, log)));
log("Dawn's robustness:");
rows.push(...(await robustnessBench(gpu, log)));
log('dispatch overhead:');
rows.push(...(await dispatchBench(gpu, log)));
const device = `${gpu.adapter.description} (${gpu.adapter.device}${gpu.adapter.isSoftware ? ', software' : ''}), subgroup size ${gpu.subgroupWidth.lanes ?? 'unknown'}, Dawn robustness ${gpu.adapter.robustness ? 'on' : 'off'}`;
log(`device: ${device}; LP_NATIVE_VECTOR_WIDTH=${process.env.LP_NATIVE_VECTOR_WIDTH ?? '(unset)'}`);
for (const [name, family] of FAMILIES) {
  if (!selected(name)) continue;
  log(`${name}:`);
  rows.push(...(await family(gpu, log)));
}
const facts = hostFacts(gpu);
gpu.destroy();

const anchors = process.argv.includes('--no-anchor') || !selected('matmul')
  ? { numpy: { measured: false, reason: 'not run' } as const, torch: { measured: false, reason: 'not run' } as const }
  : runMatmulAnchors(log);
rows.push(...matmulAnchorRows(anchors, rows));
console.log(formatTable(markCopyFraction(rows)));
const seconds = (performance.now() - started) / 1000;
console.log(`\n${device}; ${seconds.toFixed(0)} s`);
console.log(`numpy sgemm: ${anchors.numpy.measured ? `measured, ${blasKernel(anchors.numpy.result)}` : `not measured (${anchors.numpy.reason})`}`);
console.log(`torch matmul: ${anchors.torch.measured ? `measured on ${anchors.torch.result.device}` : `not measured (${anchors.torch.reason})`}`);
const allFacts = withAnchorVersions(facts, [anchors.numpy, anchors.torch]);
console.log(formatHostFacts(allFacts));
writeJsonResult(arg('json', join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'kernels.json')), {
  date: new Date().toISOString(),
  device,
  host: allFacts,
  seconds,
  anchors,
  rows,
});
