import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Anchors measured in the same run: kiln's benchmarks run a committed Python script
 * (scripts/anchors/) that times the same work with PyTorch or numpy on the same host, and print
 * its figures beside kiln's. When python3 or the library is missing, or the script fails, the
 * anchor is "not measured" with the reason, and no number is shown in its place.
 */
export type Anchor<T> = { measured: true; result: T } | { measured: false; reason: string };

/** Fields every anchor script reports (scripts/anchors/common.py). */
export interface AnchorFacts {
  anchor: string;
  versions: Record<string, string>;
  host: { cpu: string; platform: string };
  device?: string;
  threads?: number;
}

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'anchors');
const PYTHON = process.env.KILN_PYTHON ?? 'python3';

/** Whether python3 imports every one of `modules`; the reason when it does not. */
export function pythonImports(modules: string[]): { ok: true } | { ok: false; reason: string } {
  const run = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (run.error) return { ok: false, reason: `${PYTHON} not runnable (${run.error.message})` };
  if (run.status !== 0) {
    const last = run.stderr.trim().split('\n').pop() ?? '';
    return { ok: false, reason: `${PYTHON} cannot import ${modules.join(', ')} (${last})` };
  }
  return { ok: true };
}

/**
 * Runs scripts/anchors/<script> with `args` when python3 imports `modules`; its progress goes to
 * our stderr, and its last stdout line is the JSON result. `env` entries set to undefined are
 * removed from the child's environment only.
 */
export function runAnchor<T extends AnchorFacts>(
  script: string,
  modules: string[],
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutSeconds = 3600,
): Anchor<T> {
  const probe = pythonImports(modules);
  if (!probe.ok) return { measured: false, reason: probe.reason };
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const run = spawnSync(PYTHON, [join(SCRIPTS, script), ...args], {
    encoding: 'utf8',
    env: childEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: timeoutSeconds * 1000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (run.error) return { measured: false, reason: `${script}: ${run.error.message}` };
  if (run.status !== 0) return { measured: false, reason: `${script} exited with ${run.status ?? run.signal}` };
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return { measured: true, result: JSON.parse(last) as T };
  } catch {
    return { measured: false, reason: `${script} printed no JSON result (last line: ${last.slice(0, 200)})` };
  }
}

/** A figure from an anchor, or "not measured". */
export function anchorCell<T>(anchor: Anchor<T>, figure: (r: T) => number | undefined, digits = 1): string {
  if (!anchor.measured) return 'not measured';
  const v = figure(anchor.result);
  return v === undefined ? 'not measured' : v.toFixed(digits);
}

/** kiln's figure over the anchor's, as "0.19x", or "–" when the anchor was not measured. */
export function ratioCell<T>(kiln: number, anchor: Anchor<T>, figure: (r: T) => number | undefined): string {
  if (!anchor.measured) return '–';
  const v = figure(anchor.result);
  return v === undefined || !(v > 0) ? '–' : `${(kiln / v).toFixed(2)}x`;
}
