/**
 * Peak memory of the data step on one oversized record: `node dist/test/hostile/measureLongRecord.js
 * <observation|target> <megabytes> [overlong policy]` writes a JSONL file holding a few ordinary
 * conversations and one whose observation (or final assistant target) is that many MB, runs
 * prepareSftData over it with a byte-level BPE trained on the ordinary ones and a 2,048-token
 * context, and prints what happened to each record with the process's peak RSS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optSpecialTokens, trainByteLevelBpe } from '../../src/model/tokenizer/bpeTrainer.js';
import { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { renderConversation } from '../../src/toolbench/render.js';
import { prepareSftData } from '../../src/train/data/prepare.js';
import type { OverlongPolicy } from '../../src/train/data/overlong.js';
import { tinyConversations } from '../train/tinyRun.js';

const [where = 'observation', megabytes = '30', policy = 'truncate'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'kiln-long-record-'));
try {
  const ordinary = tinyConversations(8);
  const texts = ordinary.map((c) => renderConversation(c, { lossOn: 'all' }).text.replaceAll('</s>', ''));
  const bpe = trainByteLevelBpe(texts, { vocabSize: 330, specialTokens: optSpecialTokens });
  const tokenizer = Tokenizer.fromVocabAndMerges(bpe.vocabJson, bpe.mergesTxt);
  const long = structuredClone(ordinary[0]!);
  const unit = '{"city": "Oslo", "temp": 12, "wind": [3, 4, 5]} ';
  const filler = unit.repeat(Math.ceil((Number(megabytes) * 1e6) / unit.length));
  const turn = where === 'target' ? long.conversations.length - 1 : long.conversations.findIndex((t) => t.from === 'function');
  long.conversations[turn]!.value += filler;
  const path = join(dir, 'train.jsonl');
  writeFileSync(path, [...ordinary, long].map((c) => JSON.stringify(c)).join('\n'));
  const data = await prepareSftData({
    paths: [path],
    tokenizer,
    maxTokens: 2048,
    overlong: policy as OverlongPolicy,
    onBadRecord: 'skip',
  });
  const { overlong } = data.report;
  console.log(
    `${where} of ${megabytes} MB, --overlong ${policy}: kept ${overlong.kept}, truncated ${overlong.truncated}, dropped ${overlong.dropped}; ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
