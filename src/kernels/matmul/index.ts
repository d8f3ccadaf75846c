// The matrix product: one file per shader family (subgroup, tiled, gemv), the variant choice, the
// operand copy into 'nt', the dispatcher `matmul`, and the bias gradient of a linear layer.
export type { MatmulArgs, MatmulLayout, MatmulShape, MatmulVariant } from './matmulArgs.js';
export { matmul } from './matmul.js';
export { SUBGROUP_CV, SUBGROUP_MATMUL_LANES, SUBGROUP_TM, subgroupMatmulGrid, subgroupMatmulLanes, subgroupMatmulWgsl } from './subgroupMatmul.js';
export { tiledMatmulWgsl } from './tiledMatmul.js';
export { gemvWgsl } from './gemv.js';
export { biasGrad } from './biasGrad.js';
