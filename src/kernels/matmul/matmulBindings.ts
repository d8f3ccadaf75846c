// The uniform block and storage bindings the matmul shaders share (gemvWgsl declares its own
// bindings, since its B may hold packed halves).

// Offsets and strides in elements. flags: 1 bias, 2 relu, 4 accumulate.
export const paramsStruct = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, sA: u32, sB: u32, sC: u32, alpha: f32, flags: u32 }`;

export function bindings(vec: boolean): string {
  const t = vec ? 'vec4f' : 'f32';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<${t}>;
@group(0) @binding(1) var<storage, read> B: array<${t}>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<${t}>;
@group(0) @binding(4) var<uniform> p: P;`;
}
