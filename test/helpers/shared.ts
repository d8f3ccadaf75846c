import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's place in `test/helpers/`. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The public ToolBench data beside the checkout (`../shared/toolbench`), or null when absent.
 * Tests that need it skip with `skipReasonNoToolbench` rather than fail: the data is never copied
 * into the repository.
 */
export const toolbenchDir: string | null = (() => {
  const dir = process.env.KILN_TOOLBENCH_DIR ?? join(repoRoot, '..', 'shared', 'toolbench');
  return existsSync(dir) ? dir : null;
})();

export const skipReasonNoToolbench =
  'skipped: ../shared/toolbench is absent (set KILN_TOOLBENCH_DIR to point at it)';
