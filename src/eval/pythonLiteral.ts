// The reader lives in the ToolBench layer, which training also uses to re-read function lists.
export { parsePythonLiteral } from '../toolbench/pythonLiteral.js';
