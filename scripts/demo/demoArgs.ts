/**
 * The demo's command line: `npm run demo [-- --seed N]`. The seed draws the data set (tools,
 * held-out queries, trajectories), the model's initial weights and the batch order, so another seed
 * is another whole run; docs/demo.md gives the tables of several.
 */
export const DEMO_USAGE = 'usage: npm run demo [-- --seed N]   (N an integer from 0 to 4294967295)';

export interface DemoArgs {
  /** The seed to run with, or null for the knobs' own. */
  seed: number | null;
}

export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let seed: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const inline = /^--seed=(.*)$/s.exec(arg);
    if (arg !== '--seed' && inline === null) throw new Error(`kiln demo: unknown argument '${arg}'; ${DEMO_USAGE}`);
    const value = inline !== null ? inline[1]! : argv[++i];
    if (value === undefined) throw new Error(`kiln demo: --seed needs a value; ${DEMO_USAGE}`);
    if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new Error(`kiln demo: --seed '${value}' is not an integer from 0 to 4294967295`);
    seed = Number(value);
  }
  return { seed };
}
