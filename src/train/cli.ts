/**
 * `node train.js ...`: parses the options, finds the checkpoint to resume from, opens the GPU and
 * runs the trainer. Exit codes: 0 done, 1 the run failed or was stopped (non-finite loss, out of
 * memory), 2 bad usage.
 */
import { join } from 'node:path';
import { Gpu } from '../kernels/runtime/device.js';
import { TRAINER_STATE_FILE, latestCheckpoint, readJsonFile } from './checkpoints.js';
import { OptionsError, parseTrainArgs, resumeOptions, trainHelp, type TrainOptions } from './options.js';
import { train, TrainingStopped, type ResumePoint } from './trainer.js';
import { parseTrainerState } from './trainerState.js';

export interface TrainCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  progressStream: NodeJS.WriteStream;
}

const processIo: TrainCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progressStream: process.stderr,
};

/** The checkpoint named by --resume (or the newest one in --out) and the options to continue with. */
export function resolveResume(options: TrainOptions, explicit: Partial<TrainOptions>): { options: TrainOptions; resume: ResumePoint | null } {
  if (options.resume === null) return { options, resume: null };
  const dir = options.resume === 'latest' ? latestCheckpoint(options.out) : options.resume;
  if (dir === null) throw new OptionsError(`--resume: no complete checkpoint in ${options.out}`);
  const path = join(dir, TRAINER_STATE_FILE);
  const state = parseTrainerState(readJsonFile(path), path);
  return { options: resumeOptions(state.options, explicit, dir), resume: { dir, state } };
}

export async function runTrainCli(argv: string[], io: TrainCliIo = processIo): Promise<number> {
  let gpu: Gpu | null = null;
  try {
    const parsed = parseTrainArgs(argv);
    if (parsed.help) {
      io.out(`${trainHelp()}\n`);
      return 0;
    }
    const { options, resume } = resolveResume(parsed.options, parsed.explicit);
    gpu = await Gpu.create();
    await train(options, { gpu, log: (line) => io.out(`${line}\n`), progressStream: io.progressStream }, resume);
    return 0;
  } catch (err) {
    if (err instanceof OptionsError) {
      io.err(`kiln train: ${err.message}\n`);
      return 2;
    }
    if (err instanceof TrainingStopped) {
      io.err(`${err.message}\n`);
      return 1;
    }
    io.err(`kiln train: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.KILN_DEBUG && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return 1;
  } finally {
    gpu?.destroy();
  }
}
