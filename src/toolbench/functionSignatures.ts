/**
 * A function list as signatures: one line per function, `name(required, optional?):
 * description`, instead of ToolBench's Python-literal JSON schema. It carries what a call needs
 * (the name, the argument keys, which are optional, an enum's values) in about a fifth of the
 * tokens, for models whose context cannot hold ToolBench's rendering (docs/demo.md). Finish is
 * shown without its description. A prompt
 * template selects it with the `{function_signatures}` placeholder, so a checkpoint's saved template
 * makes evaluation render functions exactly as training did.
 */
import { FINISH_FUNCTION, unwrapDescription, type ToolFunction } from './functions.js';

export interface SignatureOptions {
  /** The description is cut to its first sentence and then to this many characters. */
  maxDescriptionChars?: number;
}

export function signatureList(functions: readonly ToolFunction[], options: SignatureOptions = {}): string {
  return functions.map((fn) => functionSignature(fn, options)).join('\n');
}

export function functionSignature(fn: ToolFunction, options: SignatureOptions = {}): string {
  const { properties, required } = fn.parameters;
  const args = Object.entries(properties).map(([key, schema]) => {
    const values = schema.enum ? `=${schema.enum.join('|')}` : '';
    return `${key}${values}${required.includes(key) ? '' : '?'}`;
  });
  // Finish's long description is about when to call it, which a template states in its own words.
  const description = fn.name === FINISH_FUNCTION.name ? '' : shortDescription(fn.description, options.maxDescriptionChars ?? 60);
  return `${fn.name}(${args.join(', ')})${description === '' ? '' : `: ${description}`}`;
}

/** The API's own description without ToolBench's wrapper, cut to one sentence and `max` characters. */
function shortDescription(description: string, max: number): string {
  const own = unwrapDescription(description).replace(/\s+/g, ' ').trim();
  const sentence = /^.*?[.!?](?=\s|$)/.exec(own)?.[0] ?? own;
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}
