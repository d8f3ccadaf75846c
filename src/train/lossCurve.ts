/**
 * The loss curve as a PNG beside the checkpoints: per-step loss (light) and its exponential moving
 * average (dark) against the optimizer step, with labelled axes. Drawn into a raw RGB raster with a
 * 3x5 bitmap font so the plot needs no dependency.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { encodePng } from './png.js';

export interface LossPoint {
  step: number;
  loss: number;
}

const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = { left: 76, right: 24, top: 34, bottom: 48 };
const FONT_SCALE = 2;

// 3x5 glyphs, rows top to bottom, '1' = ink: only what tick labels and titles use.
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
  '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001010010010',
  '8': '111101111101111', '9': '111101111001111', '.': '000000000000010', '-': '000000111000000',
  '+': '000010111010000', e: '000111111100111', s: '000011010001110', t: '010111010010011',
  p: '000111101111100', l: '110010010010111', o: '000111101101111', ' ': '000000000000000',
  a: '000011101101011', v: '000101101101010', g: '000111101111001', '(': '001010010010001',
  ')': '100010010010100', m: '000111111101101', ':': '000010000010000', r: '000101110100100',
  d: '001001111101111', k: '100101110110101', i: '010000010010010', n: '000110101101101',
  c: '000111100100111', h: '100100111101101', u: '000101101101111',
};

type Rgb = readonly [number, number, number];
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [228, 228, 228];
const RAW: Rgb = [160, 190, 235];
const SMOOTH: Rgb = [20, 70, 170];

class Raster {
  readonly rgb: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.rgb = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.rgb.set(c, (y * this.width + x) * 3);
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    for (let y = Math.round(y0); y <= Math.round(y1); y++) for (let x = Math.round(x0); x <= Math.round(x1); x++) this.set(x, y, c);
  }

  /** Bresenham-free line: enough samples that consecutive points touch; `thick` widens it by a pixel. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = false): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      this.set(x, y, c);
      if (thick) {
        this.set(x + 1, y, c);
        this.set(x, y + 1, c);
      }
    }
  }

  text(x: number, y: number, s: string, c: Rgb = AXIS): void {
    for (const [k, ch] of [...s].entries()) {
      const glyph = GLYPHS[ch] ?? GLYPHS[' ']!;
      for (let i = 0; i < 15; i++) {
        if (glyph[i] !== '1') continue;
        const gx = x + (k * 4 + (i % 3)) * FONT_SCALE;
        const gy = y + Math.floor(i / 3) * FONT_SCALE;
        this.rect(gx, gy, gx + FONT_SCALE - 1, gy + FONT_SCALE - 1, c);
      }
    }
  }
}

function textWidth(s: string): number {
  return s.length * 4 * FONT_SCALE - FONT_SCALE;
}

/** A short label for a tick value: up to 4 significant digits, exponent form for very small or large values. */
function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Exponential moving average with TensorBoard's debiasing, so the first points are not pulled to 0. */
export function smoothLosses(losses: readonly number[], weight = 0.9): number[] {
  const out: number[] = [];
  let last = 0;
  let n = 0;
  for (const v of losses) {
    last = last * weight + (1 - weight) * v;
    n++;
    out.push(last / (1 - weight ** n));
  }
  return out;
}

/** Renders the curve to PNG bytes. Non-finite losses are left out of the plot. */
export function renderLossCurve(points: readonly LossPoint[]): Buffer {
  const r = new Raster(WIDTH, HEIGHT);
  const finite = points.filter((p) => Number.isFinite(p.loss));
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = MARGIN.top;
  const y1 = HEIGHT - MARGIN.bottom;
  r.text(x0, 10, 'training loss per step (dark: moving average)');

  const steps = finite.map((p) => p.step);
  const losses = finite.map((p) => p.loss);
  const sMin = steps.length ? Math.min(...steps) : 0;
  const sMax = steps.length ? Math.max(...steps) : 1;
  let lMin = losses.length ? Math.min(...losses) : 0;
  let lMax = losses.length ? Math.max(...losses) : 1;
  if (lMax - lMin < 1e-6) {
    lMin -= 0.5;
    lMax += 0.5;
  }
  const pad = (lMax - lMin) * 0.05;
  lMin -= pad;
  lMax += pad;
  const sx = (s: number) => x0 + ((s - sMin) / Math.max(1e-9, sMax - sMin)) * (x1 - x0);
  const sy = (l: number) => y1 - ((l - lMin) / (lMax - lMin)) * (y1 - y0);

  for (const t of niceTicks(lMin, lMax, 6)) {
    if (t < lMin || t > lMax) continue;
    const y = sy(t);
    r.line(x0, y, x1, y, GRID);
    const label = formatTick(t);
    r.text(x0 - 8 - textWidth(label), y - 5, label);
  }
  for (const t of niceTicks(sMin, sMax, 8)) {
    if (t < sMin || t > sMax || !Number.isInteger(t)) continue;
    const x = sx(t);
    r.line(x, y0, x, y1, GRID);
    const label = String(t);
    r.text(x - textWidth(label) / 2, y1 + 8, label);
  }
  r.line(x0, y0, x0, y1, AXIS);
  r.line(x0, y1, x1, y1, AXIS);
  r.text(x1 - textWidth('step'), HEIGHT - 16, 'step');

  const drawSeries = (values: readonly number[], colour: Rgb, thick: boolean) => {
    if (values.length === 1) r.rect(sx(steps[0]!) - 1, sy(values[0]!) - 1, sx(steps[0]!) + 1, sy(values[0]!) + 1, colour);
    for (let i = 1; i < values.length; i++) {
      r.line(sx(steps[i - 1]!), sy(values[i - 1]!), sx(steps[i]!), sy(values[i]!), colour, thick);
    }
  };
  drawSeries(losses, RAW, false);
  drawSeries(smoothLosses(losses), SMOOTH, true);
  return encodePng(WIDTH, HEIGHT, r.rgb);
}

/** Writes the curve to `path` through a temporary file, so a reader never sees half an image. */
export function writeLossCurve(path: string, points: readonly LossPoint[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, renderLossCurve(points));
  renameSync(tmp, path);
}
