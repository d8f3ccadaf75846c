/**
 * The host side of a forward's inputs: [B, T] integer matrices from either nested arrays or flat
 * typed arrays, OPT's position ids from the attention mask, and the shifted loss targets. All of
 * this is known on the host, so it is computed here and uploaded, never read back.
 */

/** A [B, T] integer matrix: nested rows, or a flat row-major array with its shape. */
export type IntMatrix = number[][] | { data: Int32Array | Uint32Array | number[]; shape: readonly [number, number] };

export interface FlatMatrix {
  data: Int32Array;
  B: number;
  T: number;
}

export function flattenMatrix(m: IntMatrix, what: string): FlatMatrix {
  if (Array.isArray(m)) {
    const B = m.length;
    const T = B > 0 ? m[0]!.length : 0;
    if (B === 0 || T === 0) throw new Error(`kiln: ${what} is empty`);
    const data = new Int32Array(B * T);
    m.forEach((row, b) => {
      if (row.length !== T) throw new Error(`kiln: ${what} rows differ in length (${row.length} vs ${T})`);
      for (let t = 0; t < T; t++) data[b * T + t] = row[t]!;
    });
    return { data, B, T };
  }
  const [B, T] = m.shape;
  if (m.data.length !== B * T) throw new Error(`kiln: ${what} has ${m.data.length} values for shape [${B}, ${T}]`);
  if (B === 0 || T === 0) throw new Error(`kiln: ${what} is empty`);
  return { data: Int32Array.from(m.data), B, T };
}

/**
 * OPT's learned-position lookup ids for the last T columns of a [B, Tk] mask:
 * pos = cumsum(mask) · mask − 1 (pads get −1), looked up at pos + 2 (HF's offset), so pads read
 * row 1 and each sequence's first real token row 2, however much left padding precedes it.
 */
export function positionIdsFromMask(mask: Int32Array, B: number, Tk: number, T: number): Uint32Array {
  const ids = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < Tk; t++) {
      const m = mask[b * Tk + t]!;
      count += m;
      if (t >= Tk - T) ids[b * T + t - (Tk - T)] = count * m - 1 + 2;
    }
  }
  return ids;
}

/** Explicit position ids (e.g. restarting per packed sequence) shifted by HF's offset of 2. */
export function offsetPositionIds(positions: Int32Array): Uint32Array {
  const ids = new Uint32Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    if (positions[i]! < -1) throw new Error(`kiln: position id ${positions[i]} < -1`);
    ids[i] = positions[i]! + 2;
  }
  return ids;
}

/**
 * Causal-LM targets: row (b, t) predicts labels[b, t + 1]; the last position of each row
 * predicts nothing (-100). Returns them with the count of real (non -100) targets.
 */
export function shiftedTargets(labels: Int32Array, B: number, T: number, V: number): { targets: Int32Array; count: number } {
  const targets = new Int32Array(B * T).fill(-100);
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const label = labels[b * T + t + 1]!;
      if (label === -100) continue;
      if (label < 0 || label >= V) throw new Error(`kiln: label ${label} at [${b}, ${t + 1}] is outside the vocabulary (${V})`);
      targets[b * T + t] = label;
      count++;
    }
  }
  return { targets, count };
}
