/**
 * Reading other people's recorded runs: ToolEval's converted answers (dict or str() messages, cut or
 * whole), queries built from their available_tools, and the one-function-two-spellings rule.
 */
export { isConvertedAnswerFile, readConvertedFile, readToolMessage } from './convertedAnswer.js';
export { queryFromAvailableTools } from './availableTools.js';
export { canonicalFunctionName, sameFunction } from './functionNames.js';
