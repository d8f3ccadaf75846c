export { Tensor, type TensorDType } from './tensor.js';
export { Tape } from './tape.js';
