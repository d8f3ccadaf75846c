import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { createRequire } from 'node:module';
import type { Gpu } from '../src/kernels/runtime/device.js';
import type { Anchor, AnchorFacts } from './anchors.js';

/**
 * What every benchmark table names: the host CPU, the adapter (its description carries the
 * driver's version, e.g. Mesa's) and the versions of everything timed, so that two tables are
 * only compared when they say they may be.
 */
export interface HostFacts {
  cpu: string;
  cores: number;
  adapter: string;
  node: string;
  webgpu: string;
  env: Record<string, string | null>;
  /** From the anchors that ran: torch, transformers, numpy, python. */
  anchorVersions: Record<string, string>;
}

function webgpuVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('webgpu/package.json'), 'utf8')) as { version: string };
    return `webgpu ${pkg.version} (Dawn)`;
  } catch {
    return 'webgpu (version unknown)';
  }
}

/** The facts of this process and `gpu`; add the anchors' versions once they ran (withAnchorVersions). */
export function hostFacts(gpu: Gpu): HostFacts {
  const env: Record<string, string | null> = {};
  // The variables that change what code lavapipe and OpenBLAS run, so a figure says which it came from.
  for (const k of ['LP_NATIVE_VECTOR_WIDTH', 'GALLIUM_OVERRIDE_CPU_CAPS', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']) env[k] = process.env[k] ?? null;
  return {
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: availableParallelism(),
    adapter: `${gpu.adapter.description}${gpu.adapter.isSoftware ? ' (software)' : ''}`,
    node: process.version,
    webgpu: webgpuVersion(),
    env,
    anchorVersions: {},
  };
}

/** `facts` with the versions reported by the anchors that were measured. */
export function withAnchorVersions(facts: HostFacts, anchors: Anchor<AnchorFacts>[]): HostFacts {
  const anchorVersions = { ...facts.anchorVersions };
  for (const a of anchors) if (a.measured) Object.assign(anchorVersions, a.result.versions);
  return { ...facts, anchorVersions };
}

/** The facts as the line printed under every table. */
export function formatHostFacts(f: HostFacts): string {
  const versions = Object.entries(f.anchorVersions).map(([k, v]) => `${k} ${v}`);
  const env = Object.entries(f.env).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`);
  return [
    `host: ${f.cpu}, ${f.cores} cores; adapter: ${f.adapter}`,
    `versions: node ${f.node}, ${f.webgpu}${versions.length > 0 ? `, ${versions.join(', ')}` : ''}${env.length > 0 ? `; env: ${env.join(' ')}` : ''}`,
  ].join('\n');
}
