// Hostile inputs: a generated corpus of mutated model files, configs and training data, the
// property tests that feed it to each loader, and the probe's named cases (issue 15).
export { writeCorpus } from './generateCorpus.js';
export { applyMutations, mutationsArb, type Mutation } from './mutations.js';
export { loadOrCleanError, loadOrCleanErrorAsync, type Outcome } from './outcome.js';
