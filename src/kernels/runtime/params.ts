/**
 * Packs a kernel's uniform parameters. WGSL uniform structs of scalars lay out as consecutive
 * 4-byte fields, so a params struct is written field by field in declaration order.
 */
export class Params {
  private readonly view: DataView;
  private offset = 0;

  constructor(maxFields = 64) {
    this.view = new DataView(new ArrayBuffer(maxFields * 4));
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`kiln: u32 parameter out of range: ${v}`);
    this.view.setUint32(this.offset, v, true);
    this.offset += 4;
    return this;
  }

  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`kiln: i32 parameter out of range: ${v}`);
    this.view.setInt32(this.offset, v, true);
    this.offset += 4;
    return this;
  }

  f32(v: number): this {
    this.view.setFloat32(this.offset, v, true);
    this.offset += 4;
    return this;
  }

  /** The packed bytes, padded to 16 as uniform bindings require. */
  bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer, 0, Math.max(16, Math.ceil(this.offset / 16) * 16));
  }
}

/** Shorthand for the common all-u32 parameter block. */
export function u32Params(...values: number[]): Uint8Array {
  const p = new Params(Math.max(4, values.length));
  for (const v of values) p.u32(v);
  return p.bytes();
}

/**
 * Splits a 1-D workgroup count over x and y when it exceeds the per-dimension limit (65535);
 * kernels recover the linear index as `wid.x + wid.y * nx`, where nx is passed in their params.
 */
export function grid1d(workgroups: number, maxPerDim = 65535): { workgroups: [number, number]; nx: number } {
  if (workgroups <= maxPerDim) return { workgroups: [workgroups, 1], nx: workgroups };
  const y = Math.ceil(workgroups / maxPerDim);
  const x = Math.ceil(workgroups / y);
  return { workgroups: [x, y], nx: x };
}
