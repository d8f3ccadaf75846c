/**
 * A sharded checkpoint's index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`):
 * `{"weight_map": {tensor name: shard file name}}`. The shard names come from a file kiln did not
 * write (a hub repo, a downloaded directory) and become paths, both where the hub download writes
 * them and where the loader opens them, so each must be a plain file name in the index's own
 * directory: not `.` or `..`, no separator, not hidden (`.kiln-download.json` is the cache's own).
 */
import { readFileSync } from 'node:fs';

/** Throws naming `where` unless `name` is a plain, visible file name. */
export function checkPlainFileName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !/^[\w-][\w.-]*$/.test(name) || name.length > 255) {
    throw new Error(`${where}: ${JSON.stringify(name)} is not a plain file name in the index's directory`);
  }
  return name;
}

/** The distinct shard file names of an index's parsed JSON, sorted. */
export function shardFileNames(json: unknown, path: string): string[] {
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${path}: "weight_map" is missing or is not an object of tensor name to shard file`);
  }
  const shards = new Set<string>();
  for (const [name, file] of Object.entries(weightMap)) shards.add(checkPlainFileName(file, `${path}: weight_map "${name}"`));
  if (shards.size === 0) throw new Error(`${path}: "weight_map" names no shard`);
  return [...shards].sort();
}

/** Reads an index file and returns its shard file names. */
export function readShardIndex(path: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read shard index: ${(err as Error).message}`);
  }
  return shardFileNames(json, path);
}
