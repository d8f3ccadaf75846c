/**
 * AutoModelForCausalLM: the model class for a checkpoint, chosen from its config.json's
 * model_type as transformers' auto class does: opt → OPTForCausalLM; llama, qwen2, qwen3 →
 * LlamaForCausalLM. Anything else is refused naming the file and the type.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM, GenerationModel, LoadOptions } from './causalLM.js';
import { resolveModelFiles } from './checkpoint/hub.js';
import { LlamaForCausalLM } from './llama/llama.js';
import { llamaModelTypes } from './llama/llamaConfig.js';
import { OPTForCausalLM } from './opt/opt.js';

export type AnyCausalLM = CausalLM & GenerationModel;

export const supportedModelTypes: readonly string[] = ['opt', ...llamaModelTypes];

/** config.json's model_type in `dir`. */
export function readModelType(dir: string): string {
  const path = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read model config ${path}: ${(err as Error).message}`);
  }
  const type = (json as { model_type?: unknown } | null)?.model_type;
  if (typeof type !== 'string') throw new Error(`${path}: model_type is missing`);
  return type;
}

export const AutoModelForCausalLM = {
  /** A local checkpoint directory or a hub repo id, loaded by the class its model_type names. */
  async fromPretrained(pathOrId: string, opts: LoadOptions = {}): Promise<AnyCausalLM> {
    const { dir } = await resolveModelFiles(pathOrId);
    const type = readModelType(dir);
    if (type === 'opt') return OPTForCausalLM.fromPretrained(dir, opts);
    if ((llamaModelTypes as readonly string[]).includes(type)) return LlamaForCausalLM.fromPretrained(dir, opts);
    throw new Error(`${join(dir, 'config.json')}: model_type ${JSON.stringify(type)} is not supported (kiln loads ${supportedModelTypes.join(', ')})`);
  },
};
