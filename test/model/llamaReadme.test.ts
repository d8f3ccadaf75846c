import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';
import { writeTinyLlama } from '../helpers/tinyLlama.js';

/** The README's chat example, between its `<!-- example: chat -->` markers. */
function readmeExample(): string {
  const m = /<!-- example: chat -->\s*```js\n([\s\S]*?)```/.exec(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
  if (!m) throw new Error('README.md has no ```js block after <!-- example: chat -->');
  return m[1]!;
}

describe("the README's Llama-family example", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-readme-llama-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as written against a tiny local Llama with a chat template', () => {
    const model = writeTinyLlama(join(dir, 'model'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repoRoot, join(dir, 'node_modules', 'kiln'), 'dir');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', readmeExample()], {
      cwd: dir,
      env: { ...process.env, KILN_MODEL: model },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/^llama ".*"\n$/s);
  });
});
