import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from '../src/model/tokenizer/bpeTrainer.js';
import { optConfig } from '../src/model/opt/optConfig.js';
import { OPTForCausalLM } from '../src/model/opt/opt.js';
import { Tokenizer } from '../src/model/tokenizer/tokenizer.js';
import { repoRoot } from './helpers/shared.js';

/** The README's library example, between its `<!-- example: library -->` markers. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = /<!-- example: library -->\s*```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```js block after <!-- example: library -->');
  return m[1]!;
}

describe('the README example', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-readme-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as written against a small local model', async () => {
    const texts = ['Thought: I should check the weather.\nAction: get_weather\nAction Input: {"city": "Oslo"}'];
    const { vocabJson, mergesTxt } = trainByteLevelBpe(texts, { vocabSize: 320 });
    const tokenizer = Tokenizer.fromVocabAndMerges(vocabJson, mergesTxt);
    const config = optConfig({ vocabSize: tokenizer.vocabSize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, ffnDim: 64, maxPositionEmbeddings: 128, wordEmbedProjDim: 32 });
    const model = await OPTForCausalLM.fromConfig(config, { seed: 1 });
    await model.save(join(dir, 'model'), { tokenizer });
    model.dispose();

    // As a user has it: kiln installed in node_modules of the project running the example.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repoRoot, join(dir, 'node_modules', 'kiln'), 'dir');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', readmeExample()], {
      cwd: dir,
      env: { ...process.env, KILN_MODEL: join(dir, 'model') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/loss \d+\.\d+/);
    // It saved a Hugging Face-layout checkpoint that loads back.
    const reloaded = await OPTForCausalLM.fromPretrained(join(dir, 'out', 'my-opt'));
    expect(reloaded.numParameters()).toBeGreaterThan(0);
    reloaded.dispose();
  });
});
