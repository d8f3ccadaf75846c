import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/shared.js';

// The README and docs/ are how a newcomer finds the code, so a file moved or split without them
// must fail here rather than leave a reader at a path that no longer exists.

const documents = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function read(doc: string): string {
  return readFileSync(join(repoRoot, doc), 'utf8');
}

/** Repository paths a document names: source and test files, and folders under src/ written with a trailing slash. */
function namedPaths(text: string): string[] {
  const files = text.match(/\b(?:src|test)\/[A-Za-z0-9_/.-]+\.ts\b/g) ?? [];
  const folders = text.match(/\bsrc\/[A-Za-z0-9_/-]+\/(?![A-Za-z0-9_])/g) ?? [];
  return [...new Set([...files, ...folders])];
}

describe('paths named in README.md and docs/', () => {
  it.each(documents)('%s names only paths that exist', (doc) => {
    const missing = namedPaths(read(doc)).filter((p) => !existsSync(join(repoRoot, p)));
    expect(missing, `${doc} names paths that do not exist`).toEqual([]);
  });

  it('finds paths and folders where they are written (fixed case)', () => {
    expect(namedPaths('see src/kernels/attention/attention.ts and src/kernels/matmul/, or test/readme.test.ts.')).toEqual([
      'src/kernels/attention/attention.ts',
      'test/readme.test.ts',
      'src/kernels/matmul/',
    ]);
  });
});

describe("README's 'Finding your way'", () => {
  const readme = read('README.md');
  const start = readme.indexOf('## Finding your way');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));

  it('exists', () => {
    expect(start).toBeGreaterThanOrEqual(0);
  });

  // "`name` in src/....ts" and "`a`, `b` and `c` in src/....ts": each name must be declared in that file.
  it('names functions that are declared in the files it names', () => {
    const pairs = [...section.matchAll(/((?:`\w+`,?\s+(?:(?:and|or)\s+)?)+)in\s+(src\/[A-Za-z0-9_/.-]+\.ts)/g)];
    expect(pairs.length).toBeGreaterThanOrEqual(4);
    const undeclared: string[] = [];
    for (const [, names, path] of pairs) {
      const source = read(path!);
      for (const [, name] of names!.matchAll(/`(\w+)`/g)) {
        if (!new RegExp(`(?:function\\*?|class|const)\\s+${name}\\b`).test(source)) undeclared.push(`${name} in ${path}`);
      }
    }
    expect(undeclared).toEqual([]);
  });
});
