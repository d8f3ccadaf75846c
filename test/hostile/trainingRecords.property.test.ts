/**
 * Property tests of the training-data reader on mutated valid files in each source form (seeded
 * fast-check): the data step either refuses the file naming it, or accounts for every record
 * (loaded or reported bad by location), never decodes invalid UTF-8 into training text, and never
 * grows memory out of proportion to the input, however long one record is.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareSftData, type PreparedData } from '../../src/train/data/prepare.js';
import { WordTokenizer } from '../train/data/wordTokenizer.js';
import { applyMutations, mutationsArb } from './mutations.js';
import { loadOrCleanErrorAsync } from './outcome.js';
import { trainingSeeds } from './seeds.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The non-blank lines of a JSONL file as the reader sees them (split at \n), with their 1-based numbers. */
function jsonlLines(bytes: Uint8Array): { lineNo: number; bytes: Uint8Array }[] {
  const lines: { lineNo: number; bytes: Uint8Array }[] = [];
  let start = 0;
  let lineNo = 1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    const line = bytes.subarray(start, i);
    if (line.some((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)) lines.push({ lineNo, bytes: line });
    lineNo++;
    start = i + 1;
  }
  return lines;
}

function expectAccounted(bytes: Uint8Array, path: string, data: PreparedData): void {
  const { report, examples } = data;
  for (const bad of report.badRecords) expect(bad.location).toContain(path);
  const decoded = new WordTokenizer();
  for (const example of examples) {
    expect(example.inputIds.length).toBeLessThanOrEqual(96);
    expect(decoded.decode(example.inputIds)).not.toContain('\uFFFD');
  }
  if (!path.endsWith('.jsonl')) return;
  const lines = jsonlLines(bytes);
  const read = Object.values(report.recordsByForm).reduce((a, b) => a + b, 0);
  expect(read + report.badRecords.length, 'every non-blank line is loaded or reported').toBe(lines.length);
  const badLines = new Set(report.badRecords.map((b) => Number(/line (\d+)$/.exec(b.location)?.[1])));
  for (const line of lines) {
    if (!isValidUtf8(line.bytes)) expect(badLines.has(line.lineNo), `line ${line.lineNo} holds invalid UTF-8 and is reported bad`).toBe(true);
  }
}

describe('training records under mutation', () => {
  const seeds = trainingSeeds();

  it.each(seeds.map((s) => [s.name, s] as const))('%s: refused naming the file, or every record loaded or reported bad, no U+FFFD', async (_, seed) => {
    await fc.assert(
      fc.asyncProperty(mutationsArb, fc.constantFrom('skip' as const, 'fail' as const), async (mutations, onBadRecord) => {
        const bytes = applyMutations(Buffer.from(seed.text), mutations);
        const path = join(dir, `${fileNo++}-${seed.name}`);
        writeFileSync(path, bytes);
        const run = () => prepareSftData({ paths: [path], tokenizer: new WordTokenizer(), maxTokens: 96, overlong: 'truncate', onBadRecord });
        const out = await loadOrCleanErrorAsync(run, path, bytes.length);
        if (out.ok) expectAccounted(bytes, path, out.value);
      }),
      { seed: 1506, numRuns: 120 },
    );
  });

  it('one record of any length, observation or target, fits, is cut or is dropped within bounded memory', async () => {
    const [seed] = seeds;
    const base = seed!.conversations[0]!;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_500_000 }),
        fc.constantFrom(3, 4),
        fc.constantFrom('truncate' as const, 'drop' as const),
        fc.integer({ min: 64, max: 512 }),
        async (extra, turn, overlong, maxTokens) => {
          const conv = structuredClone(base);
          conv.conversations[turn]!.value += ' {"k": [1, 2]}'.repeat(Math.ceil(extra / 14));
          const path = join(dir, `${fileNo++}-long.jsonl`);
          const text = JSON.stringify(conv);
          writeFileSync(path, text);
          const tokenizer = new WordTokenizer();
          const out = await loadOrCleanErrorAsync(() => prepareSftData({ paths: [path], tokenizer, maxTokens, overlong, onBadRecord: 'fail' }), path, text.length);
          expect(out.ok).toBe(true);
          if (!out.ok) return;
          const { examples, report } = out.value;
          expect(report.overlong.kept + report.overlong.truncated + report.overlong.dropped).toBe(1);
          for (const example of examples) {
            expect(example.inputIds.length).toBeLessThanOrEqual(maxTokens);
            // The final target survives whole: only observations and the function list are cut.
            if (turn === 3) expect(tokenizer.decode(example.inputIds)).toContain(`${base.conversations[4]!.value}</s>`);
          }
        },
      ),
      { seed: 1507, numRuns: 12 },
    );
  });
});
