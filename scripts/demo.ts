/**
 * `npm run demo`: kiln's whole loop with no weights, no data set and no GPU. It generates a
 * ToolBench-format data set of invented tools (scripts/demo/), trains a tokenizer and a tiny Llama
 * from random weights on its trajectories, fine-tunes it with the ordinary trainer, evaluates it
 * on held-out queries in the ReAct loop against the offline tool simulator, prints the pass-rate
 * table and one held-out trajectory in full. Everything lands in runs/demo/, replaced each run;
 * `npm run demo -- --seed N` runs another seed.
 * The knobs below and what each alternative measured are in docs/demo.md.
 */
import { ensureAdapter } from './ensureAdapter.js';
import { printTrajectory } from './demo/showTrajectory.js';
import { parseDemoArgs } from './demo/demoArgs.js';
import { DEMO } from './demo/knobs.js';
import { runDemo, type DemoEvaluation } from './demo/run.js';
import type { QueryResult } from '../src/eval/report/results.js';

async function main(): Promise<number> {
  let seed: number | null;
  try {
    seed = parseDemoArgs(process.argv.slice(2)).seed;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const knobs = seed === null ? DEMO : { ...DEMO, data: { ...DEMO.data, seed } };
  await ensureAdapter((line) => process.stdout.write(`${line}\n`));
  const result = await runDemo(knobs, 'runs/demo', (line) => process.stdout.write(`${line}\n`), process.stderr);
  const { evaluations, train, seconds } = result;
  const k = Math.min(10, train.losses.length);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  // The best the model did: a query Solved with the arguments it states and the topics it asks
  // named, beyond the easiest group if there is one; failing that a Solved one with one of the two
  // right, then any Solved one, whose printout then shows what is wrong.
  const shown = evaluations.constrained;
  const expected = (r: QueryResult) => result.expectedCalls[r.query_id] ?? [];
  const solved = shown.results.filter((r) => r.label === 'Solved');
  const bothRight = shown.solvedWithStatedArguments.filter((r) => shown.solvedNamingTopics.includes(r));
  const beyondFirst = (rs: QueryResult[]) => rs.find((r) => r.category !== 'G1_instruction') ?? rs[0];
  const example =
    beyondFirst(bothRight) ?? beyondFirst(shown.solvedWithStatedArguments) ?? beyondFirst(shown.solvedNamingTopics) ?? beyondFirst(solved) ?? shown.results[0];
  if (example) {
    const query = Object.values(result.evalQueries).flat().find((q) => q.query_id === example.query_id);
    printTrajectory(example, query?.query ?? '', expected(example), 'Action and its input constrained', (line) => process.stdout.write(`${line}\n`));
  }
  const rates = (e: DemoEvaluation) => {
    const { passRate, ci95 } = e.summary.average;
    return (
      `parse rate ${(100 * e.parseRate).toFixed(1)}%, pass rate ${(100 * passRate).toFixed(1)}% (95% interval ${(100 * ci95.low).toFixed(1)}-${(100 * ci95.high).toFixed(1)}%); ` +
      `of the Solved, naming every topic asked: ${e.solvedNamingTopics.length}, ` +
      `with every argument as the query states it: ${e.solvedWithStatedArguments.length}`
    );
  };
  process.stdout.write(
    `\nkiln demo (seed ${knobs.data.seed}): loss ${mean(train.losses.slice(0, k)).toFixed(3)} -> ${mean(train.losses.slice(-k)).toFixed(3)}; ` +
      `${evaluations.free.results.length} held-out queries; data ${seconds.data.toFixed(0)} s, training ${seconds.train.toFixed(0)} s, ` +
      `evaluation ${seconds.eval.toFixed(0)} s, total ${seconds.total.toFixed(0)} s\n` +
      `  decoding freely, as ToolBench does:          ${rates(evaluations.free)}\n` +
      `  Action and input held to offered functions:  ${rates(evaluations.constrained)}\n` +
      `  model: ${train.checkpoint}\n  loss curve: runs/demo/train/loss.png\n` +
      `  evaluations: ${evaluations.free.dir}/report.md, ${evaluations.constrained.dir}/report.md\n`,
  );
  return 0;
}

process.exitCode = await main();
