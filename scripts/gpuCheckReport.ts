/**
 * gpu-check's Markdown table: one section per stage, each figure beside its anchor, read from the
 * JSON results the stages wrote (bench/kernels.ts, bench/train.ts, bench/model.ts, vitest's JSON).
 */
export interface StageResult {
  name: string;
  status: string;
  seconds: number;
  command: string;
  result: unknown;
}

export interface GpuCheckReport {
  date: string;
  quick: boolean;
  seconds: number;
  adapter: Record<string, unknown>;
  cudaAnchor: boolean;
  stages: StageResult[];
}

// Results read back from the stages' JSON files: their shapes are the writers' (bench/*.ts, vitest).
type Json = Record<string, any>;

const num = (v: unknown, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'not measured');
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}x` : '–');

function testsSection(r: Json): string[] {
  return [`${r.numPassedTests ?? '?'} passed, ${r.numFailedTests ?? '?'} failed, ${(r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)} skipped (${r.numTotalTestSuites ?? '?'} suites)`];
}

function kernelsSection(r: Json): string[] {
  const rows: Json[] = r.rows ?? [];
  const row = (kernel: string, shape: string, layout: string) => rows.find((x) => x.kernel === kernel && x.shape === shape && x.layout === layout);
  // cpu-est: work per CPU-second times the cores, for lavapipe and numpy on a shared host (bench/harness.ts).
  const lines = [
    '| matmul | layout | kiln GFLOP/s (cpu-est) | numpy sgemm, CPU (cpu-est) | torch fp32, TF32 off | kiln / torch fp32 | torch fp16 |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const k of rows.filter((x) => x.kernel === 'matmul')) {
    const numpy = row('numpy sgemm (CPU)', k.shape, k.layout);
    const fp32 = row('torch float32 (CUDA)', k.shape, k.layout)?.gflops;
    const est = (r: Json | undefined) => (r?.cpuGflops ? ` (${num(r.cpuGflops)})` : '');
    lines.push(
      `| ${k.shape} | ${k.layout} | ${num(k.gflops)}${est(k)} | ${num(numpy?.gflops)}${est(numpy)} | ${num(fp32)} | ${ratio(k.gflops, fp32)} | ${num(row('torch float16 (CUDA)', k.shape, k.layout)?.gflops)} |`,
    );
  }
  return lines;
}

function trainSection(r: Json): string[] {
  const lines = ['| config | B x T | kiln tok/s | step spread | PyTorch tok/s | ratio | kiln GPU pool peak (GiB) |', '|---|---|---|---|---|---|---|'];
  const torchRows: Json[] = r.torch?.measured ? r.torch.result.rows : [];
  for (const k of r.kiln ?? []) {
    const t = torchRows.find((x) => x.B === k.B && x.T === k.T)?.tokens_per_second;
    lines.push(`| ${r.config} | ${k.B} x ${k.T} | ${num(k.tokensPerSecond)} | ${num(100 * k.drift.spread)}% | ${num(t)} | ${ratio(k.tokensPerSecond, t)} | ${num(k.gpuPeakBytes / 2 ** 30, 2)} |`);
  }
  if (!r.torch?.measured) lines.push('', `PyTorch: not measured (${r.torch?.reason ?? 'no result'})`);
  else lines.push('', `PyTorch: ${r.torch.result.device}, float32, attention ${r.torch.result.attention}`);
  return lines;
}

function modelSection(r: Json): string[] {
  const t = r.torch?.measured ? r.torch.result : null;
  return [
    '| measure | kiln tok/s | PyTorch tok/s | ratio |',
    '|---|---|---|---|',
    `| prefill T=${r.prefill?.tokens} | ${num(r.prefill?.tokensPerSecond)} | ${num(t?.prefill?.tokens_per_second)} | ${ratio(r.prefill?.tokensPerSecond, t?.prefill?.tokens_per_second)} |`,
    `| decode after ${r.decode?.promptTokens} (${r.decode?.steps} steps) | ${num(r.decode?.tokensPerSecond, 2)} | ${num(t?.decode?.tokens_per_second, 2)} | ${ratio(r.decode?.tokensPerSecond, t?.decode?.tokens_per_second)} |`,
  ];
}

const SECTIONS: Record<string, (r: Json) => string[]> = {
  'kernel property tests and golden tests': testsSection,
  'bench:kernels': kernelsSection,
  'bench:train': trainSection,
  'bench:model': modelSection,
};

/** The host as the first stage reported it, with the anchors' versions of every stage. */
function hostLine(stages: StageResult[]): string {
  const hosts = stages.map((s) => (s.result as Json | null)?.host).filter((h) => h && h.cpu);
  if (hosts.length === 0) return '';
  const all: Record<string, string> = Object.assign({}, ...hosts.map((h) => h.anchorVersions ?? {}));
  const versions = Object.entries(all).map(([k, v]) => `${k} ${v}`).join(', ');
  const host = hosts[0];
  return `Host: ${host.cpu}, ${host.cores} cores; node ${host.node}, ${host.webgpu}${versions ? `, ${versions}` : ''}`;
}

export function formatReport(report: GpuCheckReport): string {
  const lines = [
    `# kiln gpu-check${report.quick ? ' (quick: small shapes)' : ''}, ${report.date}`,
    '',
    `Adapter: ${String(report.adapter.description)} (${String(report.adapter.vendor)}, ${String(report.adapter.architecture)}); torch CUDA anchors: ${report.cudaAnchor ? 'yes' : 'no (CPU anchors)'}; ${report.seconds.toFixed(0)} s in all.`,
    hostLine(report.stages),
    '',
    '| stage | status | seconds |',
    '|---|---|---|',
    ...report.stages.map((s) => `| ${s.name} | ${s.status} | ${s.seconds.toFixed(0)} |`),
  ];
  for (const s of report.stages) {
    const section = SECTIONS[s.name];
    if (!section || !s.result) continue;
    lines.push('', `## ${s.name}`, '', `\`${s.command}\``, '', ...section(s.result as Json));
  }
  return `${lines.join('\n')}\n`;
}
