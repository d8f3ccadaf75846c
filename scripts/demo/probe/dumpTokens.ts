/**
 * `node dist/scripts/demo/probe/dumpTokens.js <checkpoint> <train.json> <out.json>`: the demo's
 * training conversations as the trainer tokenizes them, for scripts/demo/probe/copy_probe.py.
 * Each example is [ids, labels, kinds]; a kind says what a target token is, from the line it sits
 * in, so the probe can report the loss of each thing the model has to learn separately
 * (docs/demo.md, "What a tiny model learns first").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Tokenizer } from '../../../src/model/tokenizer/tokenizer.js';
import { renderConversation, type ToolLlamaConversation } from '../../../src/toolbench/render.js';
import { IGNORE_INDEX, tokenizeExample } from '../../../src/train/data/tokenizeExample.js';

/** Target kinds, as copy_probe.py names them. */
const KIND = { none: 0, thought: 1, action: 2, argument: 3, answerText: 4, answerNumber: 5, format: 6, thoughtNumber: 7, argumentNumber: 8, earlierAnswerNumber: 9 } as const;

function targetKind(tokenizer: Tokenizer, ids: readonly number[], t: number): number {
  // The text of the line so far: back to the last token holding a newline.
  let start = t;
  while (start > 0 && t - start < 80 && !tokenizer.decode([ids[start - 1]!]).includes('\n')) start--;
  const line = tokenizer.decode(ids.slice(start, t));
  const digit = /\d/.test(tokenizer.decode([ids[t]!]));
  if (/Action Input: [^\n]*$/.test(line)) {
    if (/final_answer/.test(line)) return digit ? KIND.answerNumber : KIND.answerText;
    return digit ? KIND.argumentNumber : KIND.argument;
  }
  if (/Action: [^\n]*$/.test(line)) return KIND.action;
  if (/Thought: [^\n]*$/.test(line)) return digit ? KIND.thoughtNumber : KIND.thought;
  return KIND.format;
}

/**
 * An answer citing two facts copies its last number from the latest reply and its first from a reply
 * further back; the two are told apart so the probe can show whether the copy reaches past a turn.
 */
function markEarlierAnswerNumbers(kinds: number[]): number[] {
  const runStarts = kinds.flatMap((k, t) => (k === KIND.answerNumber && kinds[t - 1] !== KIND.answerNumber ? [t] : []));
  const lastRun = runStarts.at(-1);
  return kinds.map((k, t) => (k === KIND.answerNumber && lastRun !== undefined && t < lastRun ? KIND.earlierAnswerNumber : k));
}

async function main(): Promise<void> {
  const [checkpoint, dataFile, out] = process.argv.slice(2);
  if (!checkpoint || !dataFile || !out) throw new Error('usage: node dist/scripts/demo/probe/dumpTokens.js <checkpoint> <train.json> <out.json>');
  const tokenizer = await Tokenizer.fromPretrained(checkpoint);
  const conversations = JSON.parse(readFileSync(dataFile, 'utf8')) as ToolLlamaConversation[];
  const examples = conversations.map((conv) => {
    const rendered = renderConversation(conv, { lossOn: 'assistant' });
    const { inputIds, labels } = tokenizeExample(rendered.text, rendered.lossSpans, tokenizer);
    const ids = Array.from(inputIds);
    const kinds = Array.from(labels, (y, t) => (y === IGNORE_INDEX ? KIND.none : targetKind(tokenizer, ids, t)));
    return [ids, Array.from(labels), markEarlierAnswerNumbers(kinds)];
  });
  writeFileSync(out, JSON.stringify(examples));
  process.stdout.write(`${examples.length} examples written to ${out}\n`);
}

await main();
