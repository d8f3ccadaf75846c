/**
 * Reading the x86 that lavapipe prints with GALLIVM_DEBUG=asm: its functions, their loops (found
 * from backward jumps) and what a loop's body is made of. bench/lavapipeCode.ts uses it to count
 * what the subgroup matmul's k loop spends per FLOP, which the timings alone cannot show.
 */
export interface Instruction {
  addr: number;
  op: string;
  args: string;
}

export interface AsmFunction {
  name: string;
  code: Instruction[];
}

// LLVM's disassembly as gallivm prints it: `  2fb1:\tvaddps\t%ymm2, %ymm15, %ymm2` under a
// `cs_co_variant:` header; jump targets are decimal displacements from the next instruction.
const INSTRUCTION = /^\s*([0-9a-f]+):\s+([a-z][a-z0-9.]*)\s*(.*)$/;
const HEADER = /^([A-Za-z_][\w.]*):\s*$/;

export function parseAsm(text: string): AsmFunction[] {
  const fns: AsmFunction[] = [];
  let current: AsmFunction | null = null;
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      current = { name: header[1], code: [] };
      fns.push(current);
      continue;
    }
    const m = INSTRUCTION.exec(line);
    if (m && current) current.code.push({ addr: parseInt(m[1], 16), op: m[2], args: m[3].trim() });
  }
  return fns.filter((f) => f.code.length > 0);
}

/** The loops of a function as [first, last] instruction indices: from a backward jump's target to the jump. */
export function loops(fn: AsmFunction): [number, number][] {
  const at = new Map(fn.code.map((ins, i) => [ins.addr, i]));
  const found: [number, number][] = [];
  fn.code.forEach((ins, i) => {
    if (!ins.op.startsWith('j') || i + 1 >= fn.code.length || !/^-?\d+$/.test(ins.args)) return;
    const target = at.get(fn.code[i + 1].addr + Number(ins.args));
    if (target !== undefined && target <= i) found.push([target, i]);
  });
  return found;
}

export interface LoopBody {
  fn: string;
  code: Instruction[];
  /** Bytes from the loop's first instruction to the end of its last. */
  bytes: number;
}

/**
 * The loop that does the most work (`work` counts an instruction's share), the innermost one when
 * loops nested around it contain the same work: a kernel's hot loop.
 */
export function hottestLoop(fns: AsmFunction[], work: (ins: Instruction) => boolean): LoopBody | null {
  let best: { fn: AsmFunction; first: number; last: number; work: number } | null = null;
  for (const fn of fns) {
    for (const [first, last] of loops(fn)) {
      const n = fn.code.slice(first, last + 1).filter(work).length;
      if (n === 0) continue;
      if (!best || n > best.work || (n === best.work && last - first < best.last - best.first)) best = { fn, first, last, work: n };
    }
  }
  if (!best) return null;
  const { fn, first, last } = best;
  const end = last + 1 < fn.code.length ? fn.code[last + 1].addr : fn.code[last].addr;
  return { fn: fn.name, code: fn.code.slice(first, last + 1), bytes: end - fn.code[first].addr };
}

/**
 * How many instructions of a body fall in each named class (the first whose test accepts the
 * instruction at index i), the rest as 'other'.
 */
export function classify(code: Instruction[], classes: [string, (code: Instruction[], i: number) => boolean][]): Map<string, number> {
  const counts = new Map<string, number>([...classes.map(([name]) => [name, 0] as [string, number]), ['other', 0]]);
  code.forEach((_, i) => {
    const name = classes.find(([, test]) => test(code, i))?.[0] ?? 'other';
    counts.set(name, counts.get(name)! + 1);
  });
  return counts;
}
