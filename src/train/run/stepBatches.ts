/**
 * The micro-batches of each optimizer step: the `gradAccum` consecutive planned batches of the
 * step's window, collated. The plan of the step's epoch is made again when the epoch changes.
 */
import { collateBatch, type Batch, type PlannedBatch } from '../data/batches.js';
import type { PreparedData } from '../data/prepare.js';
import type { TrainOptions } from '../options.js';
import { planEpoch, type TrainingPlan } from './trainingPlan.js';

export class StepBatches {
  private plan: PlannedBatch[];
  private planEpochIndex = 0;

  constructor(
    private readonly data: PreparedData,
    private readonly training: TrainingPlan,
    private readonly options: TrainOptions,
    private readonly padId: number,
  ) {
    this.plan = training.firstEpoch;
  }

  /** The collated micro-batches of optimizer step `step` (0-based). */
  of(step: number): Batch[] {
    const { options, training, data } = this;
    const epoch = Math.floor(step / training.stepsPerEpoch);
    if (epoch !== this.planEpochIndex) {
      this.plan = planEpoch(data, options, training.maxTokens, epoch);
      this.planEpochIndex = epoch;
    }
    const first = (step % training.stepsPerEpoch) * options.gradAccum;
    return this.plan
      .slice(first, first + options.gradAccum)
      .map((b) => collateBatch(b.rows.map((row) => row.map((i) => data.examples[i]!)), { padId: this.padId, maxTokens: training.maxTokens, packing: options.packing }));
  }
}
