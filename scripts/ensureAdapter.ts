/**
 * Makes sure Dawn finds a WebGPU adapter before the demo or the test suite starts, so that the
 * README's two commands work on a fresh machine: with no adapter, on Debian as root, it installs
 * Mesa's CPU Vulkan driver through scripts/setup-cpu-vulkan.sh (saying so in one line);
 * elsewhere it stops with the one command to run. `node dist/scripts/ensureAdapter.js` runs it
 * alone (npm test does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../src/kernels/runtime/device.js';

export type AdapterAction = 'none' | 'install' | 'explain';

/** What to do, given whether an adapter was found and what this machine lets us do. */
export function adapterAction(found: boolean, machine: { isRoot: boolean; isDebian: boolean }): AdapterAction {
  if (found) return 'none';
  return machine.isRoot && machine.isDebian ? 'install' : 'explain';
}

/** Debian itself, as setup-cpu-vulkan.sh requires (a derivative's package names and mirrors differ). */
export function isDebian(osRelease: string): boolean {
  return /^ID=("?)debian\1$/m.test(osRelease);
}

const SETUP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'setup-cpu-vulkan.sh');

async function adapterFound(): Promise<boolean> {
  try {
    const gpu = await Gpu.create();
    gpu.destroy();
    return true;
  } catch (e) {
    if (/no WebGPU adapter/.test((e as Error).message)) return false;
    throw e;
  }
}

export async function ensureAdapter(log: (line: string) => void): Promise<void> {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const machine = { isRoot: process.getuid?.() === 0, isDebian: process.platform === 'linux' && isDebian(osRelease) };
  const action = adapterAction(await adapterFound(), machine);
  if (action === 'none') return;
  if (action === 'explain') {
    throw new Error(
      'kiln: no WebGPU adapter found. Install your GPU driver, or Mesa\'s CPU Vulkan driver (lavapipe): ' +
        `on Debian run \`sudo bash ${SETUP_SCRIPT}\`, then try again.`,
    );
  }
  log(`kiln: no WebGPU adapter found; installing Mesa's CPU Vulkan driver (lavapipe) with ${SETUP_SCRIPT}`);
  const setup = spawnSync('bash', [SETUP_SCRIPT], { encoding: 'utf8' });
  if (setup.status !== 0) {
    throw new Error(`kiln: installing the CPU Vulkan driver failed (exit ${setup.status}):\n${setup.stdout}${setup.stderr}`);
  }
  if (!(await adapterFound())) {
    throw new Error(
      `kiln: the CPU Vulkan driver is installed, yet Dawn finds no adapter (check VK_ICD_FILENAMES / VK_DRIVER_FILES):\n${setup.stdout}`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await ensureAdapter((line) => process.stdout.write(`${line}\n`));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
