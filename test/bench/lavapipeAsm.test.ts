import { describe, expect, it } from 'vitest';
import { classify, hottestLoop, loops, parseAsm } from '../../bench/lavapipeAsm.js';

// Two nested loops in gallivm's print format: jump operands are decimal displacements from the
// next instruction (0x15 + 2 - 14 = 0x9; 0x1b + 2 - 24 = 0x5); the jae jumps forward.
const ASM = [
  'Warning: a line the driver printed first',
  'sample:',
  '     0:\tpushq\t%rbp',
  '     1:\tretq',
  'cs_co_variant:',
  '     0:\tmovl\t$0, %eax',
  '     5:\tvmulps\t%ymm1, %ymm2, %ymm3',
  '     9:\tvmulps\t%ymm1, %ymm2, %ymm5',
  '     d:\tvaddps\t%ymm3, %ymm4, %ymm4',
  '    11:\tcmpl\t%edx, %esi',
  '    13:\tjae\t8',
  '    15:\tjb\t-14',
  '    17:\tvmulps\t%ymm1, %ymm2, %ymm6',
  '    1b:\tjne\t-24',
  '    1d:\tretq',
].join('\n');

describe("reading lavapipe's printed code", () => {
  it('splits functions and reads addresses as hex', () => {
    const fns = parseAsm(ASM);
    expect(fns.map((f) => [f.name, f.code.length])).toEqual([['sample', 2], ['cs_co_variant', 10]]);
    expect(fns[1].code[7]).toEqual({ addr: 0x17, op: 'vmulps', args: '%ymm1, %ymm2, %ymm6' });
  });

  it('finds loops from backward jumps, resolving displacements from the next instruction', () => {
    const fn = parseAsm(ASM)[1];
    expect(loops(fn)).toEqual([[2, 6], [1, 8]]);
  });

  it('picks the loop with the most work, and the innermost of loops with equal work', () => {
    const fns = parseAsm(ASM);
    const byMul = hottestLoop(fns, (i) => i.op === 'vmulps')!;
    expect([byMul.code[0].addr, byMul.code.length, byMul.bytes]).toEqual([0x5, 8, 0x1d - 0x5]);
    const byAdd = hottestLoop(fns, (i) => i.op === 'vaddps')!;
    expect([byAdd.code[0].addr, byAdd.code.length, byAdd.bytes]).toEqual([0x9, 5, 0x17 - 0x9]);
    expect(hottestLoop(fns, (i) => i.op === 'vdivps')).toBeNull();
  });

  it('counts each instruction in the first class that takes it', () => {
    const body = hottestLoop(parseAsm(ASM), (i) => i.op === 'vmulps')!.code;
    const counts = classify(body, [
      ['multiply', (code, i) => code[i].op === 'vmulps'],
      ['float', (code, i) => code[i].op.startsWith('v')],
      ['compare and branch', (code, i) => code[i].op === 'cmpl' || code[i - 1]?.op === 'cmpl'],
    ]);
    expect(Object.fromEntries(counts)).toEqual({ multiply: 3, float: 1, 'compare and branch': 2, other: 2 });
  });
});
