/**
 * `node dist/scripts/fittingTable.js`: how many ToolBench test queries and training examples each
 * fitting policy makes fit in OPT's positions, counted with OPT's tokenizer. The table in
 * docs/fitting.md is this script's output.
 *
 *   --toolbench <dir>   the shared ToolBench data (default $KILN_TOOLBENCH_DIR or ../shared/toolbench)
 *   --tokenizer <dir|hub id>   OPT's tokenizer (default facebook/opt-350m, downloaded); a directory
 *                       holding GPT-2's release files encoder.json and vocab.bpe also works (OPT's
 *                       merges are GPT-2's, so the counts are OPT's)
 *   --positions <n>     default 2048;  --new-tokens <n>: room a step needs, default 256 (eval's default)
 *   --room <n>          the "leaves n for steps" column, default 600
 *   --policies a;b;...  default: the policies below
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kilnContextWindow } from '../src/eval/policies/kiln.js';
import { loadQueries } from '../src/eval/queries.js';
import { queryPreflight } from '../src/eval/queryPreflight.js';
import { Tokenizer } from '../src/model/tokenizer/tokenizer.js';
import { fittingPolicyName, parseFittingPolicy } from '../src/toolbench/fitting.js';
import { startConversation } from '../src/eval/agent/conversation.js';
import { prepareSftData } from '../src/train/data/prepare.js';

const DEFAULT_POLICIES = [
  'toolbench',
  'compact',
  'desc=128',
  'desc=64',
  'compact,desc=64',
  'compact,desc=64,no-examples',
  'compact,desc=32,no-examples',
  'compact,desc=64,no-optional,no-examples',
  'compact,desc=16,no-optional,no-examples',
];

function flag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** OPT's tokenizer from a directory or hub id, or from GPT-2's encoder.json + vocab.bpe with OPT's specials added. */
async function loadCountingTokenizer(source: string): Promise<Tokenizer> {
  if (!existsSync(join(source, 'encoder.json')) || !existsSync(join(source, 'vocab.bpe'))) return Tokenizer.fromPretrained(source);
  const vocab = JSON.parse(readFileSync(join(source, 'encoder.json'), 'utf8')) as Record<string, number>;
  let next = Object.keys(vocab).length;
  for (const special of ['<s>', '<pad>', '</s>', '<unk>']) vocab[special] ??= next++;
  return Tokenizer.fromVocabAndMerges(JSON.stringify(vocab), readFileSync(join(source, 'vocab.bpe'), 'utf8'), {}, join(source, 'encoder.json'));
}

async function main(argv: readonly string[]): Promise<void> {
  const toolbench = resolve(flag(argv, 'toolbench') ?? process.env.KILN_TOOLBENCH_DIR ?? join('..', 'shared', 'toolbench'));
  if (!existsSync(join(toolbench, 'test'))) throw new Error(`${toolbench}: no test/ folder; pass --toolbench <dir>`);
  const tokenizerSource = flag(argv, 'tokenizer') ?? 'facebook/opt-350m';
  const positions = Number(flag(argv, 'positions') ?? 2048);
  const newTokens = Number(flag(argv, 'new-tokens') ?? 256);
  const room = Number(flag(argv, 'room') ?? 600);
  const policies = (flag(argv, 'policies')?.split(';') ?? DEFAULT_POLICIES).map(parseFittingPolicy);
  const tokenizer = await loadCountingTokenizer(tokenizerSource);
  const template = readFileSync(join(toolbench, 'prompts', 'toolllama_system_prompt.txt'), 'utf8');
  const { queries } = loadQueries(join(toolbench, 'test'));
  const trainFile = join(toolbench, 'prompts', 'examples', 'toolllama_preprocessed_all_train_sample.json');
  const window = kilnContextWindow(tokenizer, positions, newTokens);

  const out = [
    `ToolBench test queries (${queries.length}) and ToolLLaMA training examples, in ${positions} positions; tokenizer ${tokenizerSource}`,
    '',
    `| fitting policy | queries that fit (opening + ${newTokens} new tokens) | opening over ${positions} | leave ≥ ${room} for steps | left median | left p10 | G3_instruction fit | training examples that fit whole | training left median |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const policy of policies) {
    const pre = queryPreflight(queries, template, policy, window);
    const all = pre.rows.find((r) => r.group === 'all')!;
    const g3 = pre.rows.find((r) => r.group === 'G3_instruction');
    const openings = queries.map((q) => window.countPromptTokens(startConversation(q.query, template, {}, policy).messages));
    const over = openings.filter((n) => n > positions).length;
    const roomy = openings.filter((n) => positions - n >= room).length;
    const train = existsSync(trainFile)
      ? await prepareSftData({ paths: [trainFile], tokenizer, maxTokens: positions, overlong: 'drop', onBadRecord: 'fail', fitting: policy })
      : null;
    const trainRow = train?.report.preflight.rows.at(-1);
    const pct = (n: number, of: number) => `${n} (${((100 * n) / of).toFixed(1)}%)`;
    out.push(
      `| ${fittingPolicyName(policy)} | ${pct(all.fit, all.items)} | ${pct(over, all.items)} | ${pct(roomy, all.items)} | ${all.leftMedian} | ${all.leftP10} | ` +
        `${g3 ? `${g3.fit} of ${g3.items}` : '–'} | ${trainRow ? `${trainRow.fit} of ${trainRow.items}` : '–'} | ` +
        `${trainRow ? trainRow.leftMedian : '–'} |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`fittingTable: ${(e as Error).message}\n`);
  process.exit(1);
});
