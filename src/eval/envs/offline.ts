/**
 * The default tool environment: an offline, deterministic simulator. A valid call gets a reply
 * shaped by the API's `template_response` and filled from a PRNG seeded by (query id, API,
 * canonical arguments), so the same call always gets the same reply, on any machine. Bad calls get
 * the errors ToolBench's RapidAPI server gives (docs/judge.md): a parse error for non-JSON
 * input, a "Function executing … error" for a missing or unknown parameter, and a typed API error
 * message for a value of the wrong type.
 */
import { changeName, standardize, type ApiEntry } from '../../toolbench/functions.js';
import { pythonRepr } from '../../toolbench/pythonRepr.js';
import { checkArguments, type ArgumentProblem } from '../calls/apiArguments.js';
import { parsePartialJson } from '../calls/partialJson.js';
import { TextSeededRandom, canonicalJson } from '../textSeededRandom.js';
import { StatusCode } from '../trajectory.js';
import {
  TOOL_INPUT_PARSE_ERROR,
  parseToolInput,
  type ApiCall,
  type EnvReply,
  type ToolEnvironment,
} from './environment.js';
import { fillTemplate } from './templateResponse.js';

// The RapidAPI server cuts `response` to 2,048 characters (docs/toolbench-formats.md §e).
const MAX_RESPONSE_CHARS = 2048;

export class OfflineSimulator implements ToolEnvironment {
  readonly description = 'offline simulator (deterministic, template_response-shaped replies)';

  async call(call: ApiCall): Promise<EnvReply> {
    const args = parseToolInput(call.actionInput);
    if (args === null) return { reply: { ...TOOL_INPUT_PARSE_ERROR }, code: StatusCode.ok };
    const problem = checkArguments(call.api, args);
    if (problem !== null) return { reply: problemReply(call, problem), code: StatusCode.ok };
    const rng = new TextSeededRandom(
      [String(call.query.query_id), call.api.tool_name, call.api.api_name, canonicalJson(args)].join('\u0000'),
    );
    const body = fillTemplate(responseSkeleton(call.api), rng);
    return { reply: { error: '', response: pythonRepr(body).slice(0, MAX_RESPONSE_CHARS) }, code: StatusCode.ok };
  }
}

/**
 * The skeleton to fill: the template itself, the readable part of a cut-off template, or — when
 * there is none or it is empty — a small generic record, so every valid call returns something.
 */
function responseSkeleton(api: ApiEntry): unknown {
  let skeleton = api.template_response;
  if (typeof skeleton === 'string') skeleton = parsePartialJson(skeleton);
  const empty =
    skeleton === undefined ||
    skeleton === null ||
    (typeof skeleton === 'object' && Object.keys(skeleton).length === 0);
  return empty ? { result: 'str', id: 'int', score: 'float' } : skeleton;
}

function problemReply(call: ApiCall, problem: ArgumentProblem): EnvReply['reply'] {
  const pureApi = changeName(standardize(call.api.api_name));
  if (problem.kind === 'type') {
    // A real API rejects a wrong type with its own message, which the server passes on as the response.
    const message = `Invalid parameter '${problem.parameter}': expected ${problem.expected}, got ${pythonRepr(problem.got)}`;
    return { error: '', response: pythonRepr({ message }) };
  }
  // Python's own wording for a bad keyword call, wrapped as the RapidAPI server wraps exceptions.
  const reason =
    problem.kind === 'missing'
      ? `${pureApi}() missing 1 required positional argument: '${problem.parameter}'`
      : `${pureApi}() got an unexpected keyword argument '${problem.parameter}'`;
  const where = `from my_tools.${call.api.category_name}.${standardize(call.api.tool_name)}.api import ${pureApi}`;
  return { error: `Function executing ${where} error...\n${reason}`, response: '' };
}
