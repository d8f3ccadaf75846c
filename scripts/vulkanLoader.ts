import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Finds what Dawn needs to reach a GPU through Vulkan on Linux: the Vulkan loader
 * (libvulkan.so.1) and an installable client driver (ICD) for the card. A bare GPU machine may have
 * the NVIDIA driver (nvidia-smi works) but no loader, or the driver's library without the ICD's
 * JSON manifest. What is missing is either supplied here (a loader carried in `.vulkan/lib` of the
 * working tree; an NVIDIA manifest written next to the results when libGLX_nvidia.so.0 is there) or
 * named, with how to supply it (DEVELOPERS.md).
 */
export interface VulkanFindings {
  loader: string | null;
  icds: string[];
  nvidiaSmi: string | null;
  nvidiaLibrary: boolean;
  /** Environment for the child processes that use the GPU (LD_LIBRARY_PATH, VK_DRIVER_FILES). */
  env: Record<string, string>;
  /** What is missing and how to supply it; empty when nothing is. */
  problems: string[];
  notes: string[];
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
/** Where a loader carried with the working tree is looked for (ignored by git; see DEVELOPERS.md). */
export const CARRIED_LOADER_DIR = '.vulkan/lib';

function ldconfigHas(name: string): string | null {
  try {
    const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').find((l) => l.trim().startsWith(`${name} `));
    return line ? line.split('=>').pop()!.trim() : null;
  } catch {
    return null;
  }
}

function inDirs(name: string, dirs: string[]): string | null {
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

function nvidiaSmi(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function icdManifests(): string[] {
  const fromEnv = (process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.filter((f) => existsSync(f));
  const found: string[] = [];
  for (const d of ICD_DIRS) {
    try {
      for (const f of readdirSync(d)) if (f.endsWith('.json')) found.push(join(d, f));
    } catch {
      // No such directory: nothing there.
    }
  }
  return found;
}

/** Looks for the loader and the ICDs; `scratch` is where an NVIDIA manifest may be written. */
export function findVulkan(scratch: string): VulkanFindings {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  const notes: string[] = [];
  if (process.platform !== 'linux') {
    return { loader: null, icds: [], nvidiaSmi: null, nvidiaLibrary: false, env, problems, notes: [`${process.platform}: Dawn uses the platform's own API (Metal, D3D12); nothing to check`] };
  }
  const carried = resolve(CARRIED_LOADER_DIR);
  const ldPath = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  let loader = ldconfigHas('libvulkan.so.1') ?? inDirs('libvulkan.so.1', ldPath);
  if (!loader && existsSync(join(carried, 'libvulkan.so.1'))) {
    loader = join(carried, 'libvulkan.so.1');
    env.LD_LIBRARY_PATH = [carried, ...ldPath].join(delimiter);
    notes.push(`using the Vulkan loader carried in ${CARRIED_LOADER_DIR}`);
  }
  if (!loader) {
    problems.push(
      `no Vulkan loader (libvulkan.so.1) found by ldconfig, in LD_LIBRARY_PATH or in ${CARRIED_LOADER_DIR}/. Install it (Debian/Ubuntu: apt-get install libvulkan1) ` +
        `or, on a machine without a package registry, copy libvulkan.so.1 from a machine that has it into ${CARRIED_LOADER_DIR}/ of the working tree and carry that folder along`,
    );
  }
  const smi = nvidiaSmi();
  const nvidiaLib = ldconfigHas('libGLX_nvidia.so.0');
  let icds = icdManifests();
  if (smi && !icds.some((f) => /nvidia/i.test(f))) {
    if (nvidiaLib) {
      // The driver ships its Vulkan ICD inside libGLX_nvidia; only the manifest that names it is missing.
      const dir = join(scratch, 'vulkan-icd');
      mkdirSync(dir, { recursive: true });
      const manifest = join(dir, 'nvidia_icd.json');
      writeFileSync(manifest, `${JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: 'libGLX_nvidia.so.0', api_version: '1.3.0' } })}\n`);
      env.VK_DRIVER_FILES = manifest;
      icds = [manifest];
      notes.push(`wrote an NVIDIA ICD manifest (${manifest}) naming ${nvidiaLib}`);
    } else {
      problems.push(
        `nvidia-smi sees "${smi}" but there is no NVIDIA Vulkan ICD: neither a manifest (nvidia_icd.json in ${ICD_DIRS.join(', ')} or VK_DRIVER_FILES) nor libGLX_nvidia.so.0 ` +
          '(the NVIDIA driver\'s Vulkan library, from its userspace packages, e.g. libnvidia-gl-<version> on Ubuntu); install the driver\'s Vulkan part',
      );
    }
  }
  if (!smi && icds.length === 0) problems.push(`no Vulkan ICD manifest in ${ICD_DIRS.join(', ')} and no VK_DRIVER_FILES: install a Vulkan driver (or scripts/setup-cpu-vulkan.sh for lavapipe)`);
  return { loader, icds, nvidiaSmi: smi, nvidiaLibrary: nvidiaLib !== null, env, problems, notes };
}
