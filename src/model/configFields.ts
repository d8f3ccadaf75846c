/**
 * The checks every model family's `config.json` parser shares: a field's JSON kind, and upper
 * bounds on the sizes that decide how much is allocated. A config is read before any tensor, so a
 * careless or hostile `num_hidden_layers: 1e9` must fail here, naming the file and field, instead
 * of growing a parameter list until V8 aborts.
 */

export type FieldKind = 'positiveInt' | 'nonNegativeInt' | 'boolean' | 'probability' | 'nonNegativeNumber' | 'string';

/**
 * Upper bounds on model dimensions. Each is several times the largest published model's (Llama 3
 * 405B: 126 layers, hidden 16384, ffn 53248, 128 heads; vocabularies up to ~262k; contexts up to
 * ~1M positions), so no real checkpoint meets them, while a value past them would make kiln
 * allocate gigabytes before it could find out that the weights do not match.
 */
export const modelSizeLimits = {
  layers: 1024,
  hiddenSize: 65_536,
  ffnDim: 262_144,
  heads: 1024,
  vocabSize: 4_194_304,
  positions: 4_194_304,
} as const;

export type SizeLimit = keyof typeof modelSizeLimits;

/**
 * Throws `<where> must be <kind>, got <value>` unless `value` has `kind`, and, for integers with a
 * `limit`, `<where> <value> is above kiln's limit of <n>` when it is larger.
 */
export function checkConfigValue(value: unknown, kind: FieldKind, where: string, limit?: SizeLimit): void {
  const fail = (want: string) => {
    throw new Error(`${where} must be ${want}, got ${JSON.stringify(value)}`);
  };
  switch (kind) {
    case 'positiveInt':
      if (!Number.isInteger(value) || (value as number) <= 0) fail('a positive integer');
      break;
    case 'nonNegativeInt':
      if (!Number.isInteger(value) || (value as number) < 0) fail('a non-negative integer');
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      break;
    case 'probability':
      if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail('a number in [0, 1)');
      break;
    case 'nonNegativeNumber':
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) fail('a finite number >= 0');
      break;
    case 'string':
      if (typeof value !== 'string') fail('a string');
      break;
  }
  if (limit !== undefined && (value as number) > modelSizeLimits[limit]) {
    throw new Error(`${where} ${String(value)} is above kiln's limit of ${modelSizeLimits[limit]} (no real model is that large)`);
  }
}
