/**
 * Writes the hostile-input corpus: `node dist/test/hostile/generateCorpus.js <dir> [count] [seed]`
 * puts `count` (default 50) mutated variants of each generated valid input (seeds.ts) under
 * `<dir>/<loader>/`, and `<dir>/manifest.json` listing each file with the mutations that made it,
 * so any case a property test reports can be rebuilt and fed to the CLI by hand. Nothing of the
 * corpus is committed: the same seed always writes the same files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { applyMutations, type Mutation, mutationsArb } from './mutations.js';
import { configSeed, safetensorsSeed, torchArchive, torchSeedParts, trainingSeeds } from './seeds.js';

interface CorpusInput {
  loader: string;
  file: string;
  bytes: Uint8Array;
  /** The region mutations aim at; the whole input when absent. */
  region?: [number, number];
  /** Rebuilds the container around the mutated bytes (a pickle inside its zip). */
  wrap?: (mutated: Uint8Array) => Uint8Array;
}

function corpusInputs(): CorpusInput[] {
  const scratch = mkdtempSync(join(tmpdir(), 'kiln-corpus-'));
  try {
    const safetensors = safetensorsSeed(scratch);
    const torch = torchSeedParts();
    return [
      { loader: 'safetensors', file: 'model.safetensors', bytes: safetensors.bytes, region: [0, safetensors.headerEnd] },
      { loader: 'torch-zip', file: 'pytorch_model.bin', bytes: torchArchive(torch.pickle, torch.storages) },
      { loader: 'torch-pickle', file: 'pytorch_model.bin', bytes: torch.pickle, wrap: (pickle) => torchArchive(pickle, torch.storages) },
      { loader: 'config', file: 'config.json', bytes: Buffer.from(configSeed) },
      ...trainingSeeds().map((s) => ({ loader: 'training-records', file: s.name, bytes: Buffer.from(s.text) })),
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function writeCorpus(dir: string, count: number, seed: number): number {
  const manifest: { path: string; loader: string; mutations: Mutation[] }[] = [];
  corpusInputs().forEach((input, k) => {
    const loaderDir = join(dir, input.loader);
    mkdirSync(loaderDir, { recursive: true });
    fc.sample(mutationsArb, { seed: seed + k, numRuns: count }).forEach((mutations, i) => {
      const [start, end] = input.region ?? [0, input.bytes.length];
      const mutated = applyMutations(input.bytes, mutations, start, end);
      const path = join(input.loader, `${String(i).padStart(4, '0')}-${input.file}`);
      writeFileSync(join(dir, path), input.wrap ? input.wrap(mutated) : mutated);
      manifest.push({ path, loader: input.loader, mutations });
    });
  });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ seed, count, files: manifest }, null, 1)}\n`);
  return manifest.length;
}

if (process.argv[1]?.endsWith('generateCorpus.js')) {
  const [dir, count = '50', seed = '15'] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: node dist/test/hostile/generateCorpus.js <dir> [count] [seed]\n');
    process.exit(2);
  }
  const written = writeCorpus(dir, Number(count), Number(seed));
  process.stdout.write(`wrote ${written} hostile inputs and manifest.json under ${dir}\n`);
}
