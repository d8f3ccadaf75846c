/**
 * `npm run reproduce` / `node reproduce.js`: checks every prerequisite, then runs the stages in
 * order, skipping those a previous run finished (state.ts). Exit codes: 0 done, 1 a stage failed
 * (run again to resume), 2 bad usage, 3 a prerequisite is missing (nothing was started).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseReproduceArgs, reproduceHelp, ReproduceUsageError, type ReproduceOptions } from './options.js';
import { checkPrerequisites, MissingPrerequisites } from './prerequisites.js';
import { downloadStage, evalStage, preflightStage, tableStage, trainStage, type StageContext } from './stages.js';
import { ReproduceState } from './state.js';

export interface ReproduceIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const processIo: ReproduceIo = { stdout: (t) => process.stdout.write(t), stderr: process.stderr };

export async function runReproduceCli(argv: readonly string[], io: ReproduceIo = processIo): Promise<number> {
  const log = (line: string) => io.stdout(`${line}\n`);
  try {
    const o = parseReproduceArgs(argv);
    if (o.help) {
      io.stdout(reproduceHelp());
      return 0;
    }
    await reproduce(o, io, log);
    return 0;
  } catch (e) {
    if (e instanceof ReproduceUsageError) {
      io.stderr.write(`kiln reproduce: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`kiln reproduce: ${(e as Error).message}\n`);
    return e instanceof MissingPrerequisites ? 3 : 1;
  }
}

/** The settings that decide the result; a resumed run must keep them (state.ts). */
function settingsOf(o: ReproduceOptions): Record<string, unknown> {
  return {
    model: o.model,
    data: o.data && resolve(o.data),
    train: o.train && resolve(o.train),
    queries: o.queries && resolve(o.queries),
    fitting: o.fitting,
    promptTemplate: o.promptTemplate && resolve(o.promptTemplate),
    allowCpu: o.allowCpu,
    gradAccum: o.gradAccum,
    maxSteps: o.maxSteps,
    maxLength: o.maxLength,
    limit: o.limit,
    maxNewTokens: o.maxNewTokens,
    evalSteps: o.evalSteps,
  };
}

async function reproduce(o: ReproduceOptions, io: ReproduceIo, log: (line: string) => void): Promise<void> {
  const pre = await checkPrerequisites(o);
  mkdirSync(o.out, { recursive: true });
  const settings = settingsOf(o);
  const state = new ReproduceState(o.out, settings);
  log(`kiln reproduce: ${o.model} on ${pre.adapter}; training data ${pre.data.train}; queries ${pre.data.queries}; fitting ${o.fitting}; in ${o.out}`);
  const c: StageContext = { o, pre, settings, log, stdout: io.stdout, stderr: io.stderr };
  const stage = async (name: Parameters<ReproduceState['done']>[0], run: () => Promise<string> | string): Promise<string> => {
    const done = state.done(name);
    if (done) {
      log(`kiln reproduce: ${name}: done earlier (${done.output}), skipped`);
      return done.output;
    }
    const output = await run();
    state.finish(name, output);
    log(`kiln reproduce: ${name}: done (${output})`);
    return output;
  };
  const modelDir = await stage('download', () => downloadStage(c));
  const preflight = await stage('preflight', () => preflightStage(c, modelDir));
  log(readFileSync(preflight, 'utf8').trimEnd());
  const checkpoint = await stage('train', () => trainStage(c, modelDir));
  const evalDir = await stage('eval', () => evalStage(c, checkpoint));
  const results = await stage('table', () => tableStage(c, checkpoint, evalDir));
  log(readFileSync(results, 'utf8'));
}
