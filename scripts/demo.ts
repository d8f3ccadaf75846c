/**
 * `npm run demo`: kiln's whole loop with no weights, no data set and no GPU. It generates a
 * ToolBench-format data set of invented tools (scripts/demo/), trains a tokenizer and a tiny Llama
 * from random weights on its trajectories, fine-tunes it with the ordinary trainer, evaluates it
 * on held-out queries in the ReAct loop against the offline tool simulator, prints the pass-rate
 * table and one held-out trajectory in full. Everything lands in runs/demo/, replaced each run.
 * The knobs below and what each alternative measured are in docs/demo.md.
 */
import { ensureAdapter } from './ensureAdapter.js';
import { printTrajectory } from './demo/showTrajectory.js';
import { DEMO } from './demo/knobs.js';
import { runDemo, type DemoEvaluation } from './demo/run.js';

async function main(): Promise<number> {
  await ensureAdapter((line) => process.stdout.write(`${line}\n`));
  const result = await runDemo(DEMO, 'runs/demo', (line) => process.stdout.write(`${line}\n`), process.stderr);
  const { evaluations, train, seconds } = result;
  const k = Math.min(10, train.losses.length);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  // A solved query beyond the easiest group shows most of what the model learned.
  const shown = evaluations.constrained;
  const example = shown.results.find((r) => r.label === 'Solved' && r.category !== 'G1_instruction') ?? shown.results[0];
  if (example) {
    const query = Object.values(result.evalQueries).flat().find((q) => q.query_id === example.query_id);
    printTrajectory(example, query?.query ?? '', 'Action names constrained', (line) => process.stdout.write(`${line}\n`));
  }
  const rates = (e: DemoEvaluation) => {
    const { passRate, ci95 } = e.summary.average;
    return (
      `parse rate ${(100 * e.parseRate).toFixed(1)}%, pass rate ${(100 * passRate).toFixed(1)}% (95% interval ${(100 * ci95.low).toFixed(1)}-${(100 * ci95.high).toFixed(1)}%); ` +
      `Solved with every argument as the query states it: ${e.solvedWithStatedArguments} of ${e.results.length}`
    );
  };
  process.stdout.write(
    `\nkiln demo: loss ${mean(train.losses.slice(0, k)).toFixed(3)} -> ${mean(train.losses.slice(-k)).toFixed(3)}; ` +
      `${evaluations.free.results.length} held-out queries; data ${seconds.data.toFixed(0)} s, training ${seconds.train.toFixed(0)} s, ` +
      `evaluation ${seconds.eval.toFixed(0)} s, total ${seconds.total.toFixed(0)} s\n` +
      `  decoding freely, as ToolBench does:          ${rates(evaluations.free)}\n` +
      `  Action names constrained to those offered:   ${rates(evaluations.constrained)}\n` +
      `  model: ${train.checkpoint}\n  loss curve: runs/demo/train/loss.png\n` +
      `  evaluations: ${evaluations.free.dir}/report.md, ${evaluations.constrained.dir}/report.md\n`,
  );
  return 0;
}

process.exitCode = await main();
