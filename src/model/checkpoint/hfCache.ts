/**
 * The Hugging Face cache Python users already have (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
 * ~/.cache/huggingface/hub): `models--org--name/snapshots/<commit>/`, with `refs/<revision>`
 * naming the commit of a branch. A snapshot holding what the request needs is used in place,
 * before anything is downloaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function huggingFaceHubCache(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  return join(process.env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'hub');
}

/** Whether `dir` has a config and complete weights (model) or a tokenizer (tokenizer only). */
function complete(dir: string, model: boolean): boolean {
  const has = (f: string) => existsSync(join(dir, f));
  if (!model) return has('tokenizer.json') || (has('vocab.json') && has('merges.txt'));
  if (!has('config.json')) return false;
  if (has('model.safetensors') || has('pytorch_model.bin')) return true;
  if (!has('model.safetensors.index.json')) return false;
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map?: Record<string, string> };
    return Object.values(index.weight_map ?? {}).every((shard) => has(shard));
  } catch {
    return false;
  }
}

/** The cached snapshot of repo `id` at `revision` (a branch, tag or commit), when it is complete; else null. */
export function huggingFaceCacheSnapshot(id: string, revision: string, model: boolean): string | null {
  const repo = join(huggingFaceHubCache(), `models--${id.replace('/', '--')}`);
  const ref = join(repo, 'refs', revision);
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : revision;
  if (!/^[\w.-]+$/.test(commit)) return null;
  const snapshot = join(repo, 'snapshots', commit);
  return existsSync(snapshot) && complete(snapshot, model) ? snapshot : null;
}
