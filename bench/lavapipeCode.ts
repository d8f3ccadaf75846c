import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../src/kernels/runtime/device.js';
import { matmul, type MatmulLayout } from '../src/kernels/matmul/index.js';
import { seededValues } from '../test/helpers/arbitraries.js';
import { classify, hottestLoop, parseAsm, type Instruction } from './lavapipeAsm.js';

/**
 * `node dist/bench/lavapipeCode.js [layout ...]`: what lavapipe's compiler makes of the subgroup
 * matmul's k loop, per layout (default nn, nt, tn). A child process runs the kernel with
 * GALLIVM_DEBUG=asm (read when the driver loads, hence the child) and times it at 512x1024x1024;
 * this process finds the loop doing the most float multiplies in the printed x86 and sorts its
 * instructions into classes. With the time it gives instructions retired per second per core,
 * which says whether the kernel is bound by what it executes (near the core's issue width) or by
 * something else (memory, latency). lavapipe only: on other adapters there is nothing to read.
 */
const [M, K, N] = [512, 1024, 1024];
const RESULT = 'kiln-lavapipe-code:';

if (process.env.KILN_LAVAPIPE_CODE_CHILD) {
  const layout = process.env.KILN_LAVAPIPE_CODE_CHILD as MatmulLayout;
  const gpu = await Gpu.create();
  if (!gpu.adapter.isSoftware) throw new Error(`lavapipeCode: the adapter is ${gpu.adapter.description}, not lavapipe`);
  const [a, b, c] = [gpu.upload(seededValues(M * K, 1)), gpu.upload(seededValues(K * N, 2)), gpu.alloc(4 * M * N)];
  // In place, so the asm holds this one kernel (no transposed copies).
  const run = () => matmul(gpu, { a, b, c, M, N, K, layout, variant: 'subgroup' });
  run();
  await gpu.sync();
  const ms: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) run();
    await gpu.sync();
    ms.push((performance.now() - t0) / 4);
  }
  ms.sort((x, y) => x - y);
  process.stdout.write(`\n${RESULT}${JSON.stringify({ ms: ms[2] })}\n`);
  gpu.destroy();
  process.exit(0);
}

const isMultiply = (ins: Instruction) => /^v(mul|fn?madd\w*|fn?msub\w*)ps$/.test(ins.op);
const stackSlot = /\((%rsp|%rbp)\)/;
const laneElement = /\(%r\w+,%r\w+,\d\)/;
const op = (re: RegExp) => (code: Instruction[], i: number) => re.test(code[i].op);
// Classes in order (an instruction counts in the first that takes it). Most of a storage load's
// cost is not the load: gallivm's emit_load_mem walks the lanes, testing each lane's exec-mask bit,
// reloading the buffer's base and size, and comparing every component's index against the size.
const CLASSES: [string, (code: Instruction[], i: number) => boolean][] = [
  ['float multiply or fma', (code, i) => isMultiply(code[i])],
  ['float add', op(/^v(add|sub)ps$/)],
  ['stack spill or reload', (code, i) => stackSlot.test(code[i].args)],
  ['lane element load', (code, i) => laneElement.test(code[i].args)],
  ['bounds check (cmp, jae)', (code, i) => (code[i].op.startsWith('cmp') && code[i + 1]?.op === 'jae') || (code[i].op === 'jae' && !!code[i - 1]?.op.startsWith('cmp'))],
  ['exec-mask blend', op(/^vp?blendv/)],
  ['insert into vector', op(/^(vpblendd|vpinsrd|vinsertps|vblendps)$/)],
  ['lane index arithmetic', op(/^(orl|movslq|cltq|sarl|vpextrd|vextractps|vmovd)$/)],
  ['lane mask tests, branches, buffer base and size', op(/^(testb|je|jne|jmp|kmov\w|kshift\w+|movq|movl)$/)],
  ['broadcast, permute', op(/^v(p?broadcast|perm|pshuf|shuf|extract)/)],
  ['alignment nop', op(/^nop/)],
];

const layouts = (process.argv.slice(2).length ? process.argv.slice(2) : ['nn', 'nt', 'tn']) as MatmulLayout[];
const cores = availableParallelism();
const results = [];
for (const layout of layouts) {
  if (!['nn', 'nt', 'tn'].includes(layout)) throw new Error(`lavapipeCode: unknown layout '${layout}' (nn, nt or tn)`);
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, GALLIVM_DEBUG: 'asm', MESA_SHADER_CACHE_DISABLE: 'true', KILN_LAVAPIPE_CODE_CHILD: layout },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const text = `${child.stdout}\n${child.stderr}`;
  const line = text.split('\n').find((l) => l.startsWith(RESULT));
  if (child.status !== 0 || !line) throw new Error(`lavapipeCode: the ${layout} child failed (exit ${child.status}):\n${child.stderr.slice(-2000)}`);
  const { ms } = JSON.parse(line.slice(RESULT.length)) as { ms: number };
  const loop = hottestLoop(parseAsm(text), isMultiply);
  if (!loop) throw new Error('lavapipeCode: no loop with float multiplies in the printed code (was GALLIVM_DEBUG=asm honoured?)');
  const lanes = loop.code.some((ins) => isMultiply(ins) && ins.args.includes('%zmm')) ? 16 : 8;
  const flopsPerIteration = 2 * lanes * loop.code.filter(isMultiply).length;
  const gflops = (2 * M * N * K) / ms / 1e6;
  const iterationsPerCoreSecond = (gflops * 1e9) / flopsPerIteration / cores;
  const mix = Object.fromEntries(classify(loop.code, CLASSES));
  results.push({ layout, instructions: loop.code.length, bytes: loop.bytes, flopsPerIteration, gflops, instructionsPerCoreSecond: iterationsPerCoreSecond * loop.code.length, mix });
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`k loop of the subgroup matmul, ${M}x${K}x${N}, ${cores} cores (instructions as printed; branches skip some)`);
console.log(`${'layout'.padEnd(8)}${pad('instr.', 8)}${pad('bytes', 8)}${pad('FLOP/iter', 11)}${pad('GFLOP/s', 9)}${pad('G instr/s/core', 16)}`);
for (const r of results) {
  console.log(`${r.layout.padEnd(8)}${pad(r.instructions, 8)}${pad(r.bytes, 8)}${pad(r.flopsPerIteration, 11)}${pad(r.gflops.toFixed(1), 9)}${pad((r.instructionsPerCoreSecond / 1e9).toFixed(1), 16)}`);
}
console.log('\ninstruction mix of the loop body:');
for (const r of results) {
  console.log(`  ${r.layout}: ${Object.entries(r.mix).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'lavapipeCode.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), shape: { M, K, N }, cores, results }, null, 2));
console.log(`wrote ${out}`);
