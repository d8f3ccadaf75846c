/**
 * A checkpoint of the run in progress: the model in Hugging Face's layout with the files evaluation
 * reads back (prompt template, fitting policy), the optimizer moments and the trainer state; then
 * old checkpoints pruned and the loss curve redrawn.
 */
import { join } from 'node:path';
import type { AnyCausalLM } from '../../model/autoModel.js';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import { FITTING_POLICY_FILE, fittingPolicyFileText } from '../../toolbench/fitting.js';
import { OPTIMIZER_FILE, PROMPT_TEMPLATE_FILE, TRAINER_STATE_FILE, pruneCheckpoints, writeCheckpoint, writeFileDurable } from '../checkpoints.js';
import { writeLossCurve } from '../lossCurve.js';
import type { MetricsLog } from '../metrics.js';
import type { AdamW } from '../optimizer/adamw.js';
import type { TrainOptions } from '../options.js';
import type { Progress } from '../progress.js';
import type { TrainerState } from '../trainerState.js';
import type { RunInputs } from './runInputs.js';

export interface RunCheckpoint {
  model: AnyCausalLM;
  tokenizer: Tokenizer;
  optimizer: AdamW;
  inputs: RunInputs;
  options: TrainOptions;
  metrics: MetricsLog;
  progress: Progress;
}

/** Writes `<out>/checkpoint-<state.step>` and returns its directory. */
export async function saveRunCheckpoint(run: RunCheckpoint, state: TrainerState): Promise<string> {
  const { options, inputs } = run;
  const dir = await writeCheckpoint(options.out, state.step, async (tmp) => {
    await run.model.save(tmp, {
      tokenizer: run.tokenizer,
      extraFiles: {
        ...(inputs.promptTemplate === null ? {} : { [PROMPT_TEMPLATE_FILE]: inputs.promptTemplate }),
        [FITTING_POLICY_FILE]: fittingPolicyFileText(inputs.fitting),
      },
    });
    await run.optimizer.saveState(join(tmp, OPTIMIZER_FILE));
    writeFileDurable(join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  });
  pruneCheckpoints(options.out, options.saveTotalLimit, state.step);
  writeLossCurve(join(options.out, 'loss.png'), run.metrics.all());
  run.progress.log(`kiln: saved ${dir}`);
  return dir;
}
