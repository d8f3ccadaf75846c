/**
 * `node dist/bench/inputGrammar.js [--pieces 128256] [--json PATH]`: the host-side cost of
 * `--constrain-actions` inside an Action Input, per call of the grammar (one call per generated
 * token per sequence), in each state the input passes through, on a seeded synthetic vocabulary of
 * a Llama 3's size. The allowed count shows what the model may choose there.
 */
import { join } from 'node:path';
import { allowedInputTokens, type InputSchema } from '../src/eval/agent/actionInputGrammar.js';
import { indexPieces } from '../src/eval/agent/actionNames.js';
import { arg, writeJsonResult } from './results.js';

const size = Number(arg('pieces', '128256'));
let x = 7;
const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
// Mostly letters and digits, sometimes JSON's characters; four in ten pieces open with a space, as in BPE vocabularies.
const letters = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789';
const json = '_:",{}[]\\.-\n';
const pieces = Array.from({ length: size }, () => {
  let piece = rnd() < 0.4 ? ' ' : '';
  for (let n = 1 + Math.floor(rnd() * 7); n > 0; n--) piece += rnd() < 0.9 ? letters[Math.floor(rnd() * letters.length)] : json[Math.floor(rnd() * json.length)];
  return piece;
});
const t0 = performance.now();
const vocabulary = indexPieces(pieces);
const indexMs = performance.now() - t0;
const schema: InputSchema = { keys: ['city', 'days', 'return_type', 'final_answer'], enums: { return_type: ['give_answer', 'give_up_and_restart'] } };
const states: [string, string][] = [
  ['before the object', ''],
  ['in a key', '{"ci'],
  ['after a key', '{"city"'],
  ['where a value starts', '{"city":'],
  ['in a string value', '{"city": "Os'],
  ['in a number', '{"days": 1'],
  ['in an enum value', '{"return_type": "give_'],
  ['after a value', '{"city": "Oslo"'],
];
const rows = states.map(([state, text]) => {
  let calls = 0;
  let allowed = 0;
  const start = performance.now();
  while (performance.now() - start < 500) {
    allowed = allowedInputTokens(text, schema, vocabulary)?.length ?? 0;
    calls++;
  }
  return { state, text, msPerCall: (performance.now() - start) / calls, allowed };
});
const lines = [
  '',
  `Constrained Action Input, ${size} pieces (indexed once in ${indexMs.toFixed(0)} ms):`,
  '',
  '| state | text so far | ms per call | allowed |',
  '|---|---|---:|---:|',
  ...rows.map((r) => `| ${r.state} | \`${r.text}\` | ${r.msPerCall.toFixed(3)} | ${r.allowed} |`),
  '',
  `(each state timed for 0.5 s; node ${process.version})`,
];
process.stdout.write(`${lines.join('\n')}\n`);
writeJsonResult(arg('json', join(process.cwd(), 'bench', 'results', 'inputGrammar.json')), { date: new Date().toISOString(), pieces: size, indexMs, rows });
