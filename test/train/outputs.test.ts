import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { latestCheckpoint, listCheckpoints, pruneCheckpoints, writeCheckpoint } from '../../src/train/checkpoints.js';
import { renderLossCurve, smoothLosses } from '../../src/train/lossCurve.js';
import { MetricsLog, readMetrics, type StepMetrics } from '../../src/train/metrics.js';
import { crc32, encodePng } from '../../src/train/png.js';
import { formatDuration, progressFields } from '../../src/train/progress.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'kiln-train-'));

/** Minimal PNG reader for the test: chunk CRCs, IHDR, and the inflated, unfiltered scanlines. */
function decodePng(png: Buffer): { width: number; height: number; rgb: Uint8Array } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    expect(png.readUInt32BE(at + 8 + len)).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, rgb };
}

describe('png and loss curve', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('encodes pixels that decode back exactly', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const { width, height, rgb: back } = decodePng(encodePng(5, 3, rgb));
    expect([width, height]).toEqual([5, 3]);
    expect(back).toEqual(rgb);
  });

  it('draws a curve (some ink besides the background), skipping NaN losses', () => {
    const points = Array.from({ length: 50 }, (_, i) => ({ step: i + 1, loss: i === 10 ? NaN : 5 * Math.exp(-i / 10) + 1 }));
    const { rgb } = decodePng(renderLossCurve(points));
    const blue = Array.from({ length: rgb.length / 3 }, (_, p) => rgb[3 * p + 2]! > 150 && rgb[3 * p]! < 60).filter(Boolean).length;
    expect(blue).toBeGreaterThan(200);
    expect(() => renderLossCurve([])).not.toThrow();
  });

  it('smoothing is debiased: a constant series stays constant', () => {
    expect(smoothLosses([2, 2, 2]).map((v) => Number(v.toFixed(12)))).toEqual([2, 2, 2]);
  });
});

describe('metrics log', () => {
  const m = (step: number): StepMetrics => ({ step, epoch: 0, loss: 1 / step, lr: 1e-4, gradNorm: 1, tokens: 10, targetTokens: 5, tokensPerSecond: 3, elapsedSeconds: step });

  it('appends steps, and a resumed log is cut back to the checkpoint, ignoring a torn last line', () => {
    const path = join(tmp(), 'metrics.jsonl');
    const log = MetricsLog.open(path, null);
    for (let s = 1; s <= 5; s++) log.append(m(s));
    appendFileSync(path, '{"step": 6, "lo');
    expect(readMetrics(path).map((x) => x.step)).toEqual([1, 2, 3, 4, 5]);
    MetricsLog.open(path, 3).append(m(4));
    expect(readMetrics(path).map((x) => x.step)).toEqual([1, 2, 3, 4]);
  });
});

describe('checkpoint directories', () => {
  const fillAll = async (dir: string) => {
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) writeFileSync(join(dir, f), f);
  };

  it('writes through a temporary name, keeps the last K, finds the latest complete one', async () => {
    const out = tmp();
    for (const step of [2, 4, 6]) {
      await writeCheckpoint(out, step, fillAll);
      pruneCheckpoints(out, 2, step);
    }
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([4, 6]);
    expect(latestCheckpoint(out)).toBe(join(out, 'checkpoint-6'));
    expect(readdirSync(out).sort()).toEqual(['checkpoint-4', 'checkpoint-6']);
  });

  it('a failed or crashed write leaves the previous checkpoint as the latest', async () => {
    const out = tmp();
    await writeCheckpoint(out, 2, fillAll);
    await expect(writeCheckpoint(out, 4, async (dir) => writeFileSync(join(dir, 'config.json'), '{}'))).rejects.toThrow(/not written/);
    await expect(writeCheckpoint(out, 4, async () => { throw new Error('disk full'); })).rejects.toThrow('disk full');
    // What a SIGKILL mid-write leaves: a temporary directory, and a checkpoint-N with files missing.
    mkdirSync(join(out, 'checkpoint-8.tmp-0badf00d'));
    mkdirSync(join(out, 'checkpoint-9'));
    expect(latestCheckpoint(out)).toBe(join(out, 'checkpoint-2'));
    pruneCheckpoints(out, 2, 2);
    expect(existsSync(join(out, 'checkpoint-8.tmp-0badf00d'))).toBe(false);
    expect(readFileSync(join(out, 'checkpoint-2', 'config.json'), 'utf8')).toBe('config.json');
  });

  it('F4: pruning never deletes the checkpoints of the run writing them, whatever higher steps lie beside them', async () => {
    const out = tmp();
    // An earlier run's checkpoint at a higher step, then this run's steps 1 and 2.
    await writeCheckpoint(out, 100, fillAll);
    for (const step of [1, 2]) {
      await writeCheckpoint(out, step, fillAll);
      pruneCheckpoints(out, 1, step);
    }
    expect(existsSync(join(out, 'checkpoint-2'))).toBe(true);
    expect(existsSync(join(out, 'checkpoint-1'))).toBe(false);
  });

  it('rewriting an existing step replaces it whole', async () => {
    const out = tmp();
    await writeCheckpoint(out, 3, fillAll);
    await writeCheckpoint(out, 3, async (dir) => {
      await fillAll(dir);
      writeFileSync(join(dir, 'config.json'), 'new');
    });
    expect(readFileSync(join(out, 'checkpoint-3', 'config.json'), 'utf8')).toBe('new');
    expect(readdirSync(out)).toEqual(['checkpoint-3']);
  });
});

describe('progress', () => {
  it('formats loss, lr, tokens/s and an ETA from this run\'s pace', () => {
    const line = progressFields({ step: 10, totalSteps: 40, loss: 2.5, lr: 5e-5, tokensPerSecond: 123.4, elapsedSeconds: 20, stepsThisRun: 10 });
    expect(line).toBe('step 10/40 | loss 2.5000 | lr 5.00e-5 | 123.4 tok/s | elapsed 0:20 | ETA 1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
