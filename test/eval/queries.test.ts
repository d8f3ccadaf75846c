import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startConversation } from '../../src/eval/agent/conversation.js';
import { loadQueries } from '../../src/eval/queries.js';
import { loadRecordedAnswers } from '../../src/eval/recorded/recordedAnswers.js';
import { processSystemMessage } from '../../src/toolbench/answerTree.js';
import { queryFunctions, type ToolFunction } from '../../src/toolbench/functions.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-queries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadQueries, fixed cases', () => {
  it('reads raw ToolBench files with minimal api_list entries and skips open-domain queries', () => {
    const file = join(dir, 'G1_query.json');
    writeFileSync(
      file,
      JSON.stringify([
        { query: 'quotes please', query_id: 82217, api_list: [{ category_name: 'Social', tool_name: 'Olato Quotes', api_name: 'Love Quote' }] },
        { query: 'anything', query_id: 5 },
      ]),
    );
    const { queries, skipped } = loadQueries(file);
    expect(queries).toHaveLength(1);
    expect(queries[0]!.category).toBe('G1_query');
    expect(queries[0]!.query.api_list[0]).toMatchObject({ api_description: '', required_parameters: [], method: 'GET' });
    expect(skipped[0]).toMatch(/G1_query\.json\[1\]: no api_list/);
  });

  it('names the file, index and field of bad input', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ query: 'x', query_id: 'seven', api_list: [] }]));
    expect(() => loadQueries(file)).toThrow(/bad\.json\[0\]: field "query_id" must be an integer/);
    writeFileSync(file, '{"not": "a list"}');
    expect(() => loadQueries(file)).toThrow(/bad\.json: expected a JSON array/);
  });
});

describe.skipIf(!toolbenchDir)(`queries and system prompts from the shared data ${toolbenchDir ? '' : skipReasonNoToolbench}`, () => {
  const testDir = join(toolbenchDir ?? '', 'test');

  it('loads the six test files with their categories, and filters', () => {
    const all = loadQueries(testDir).queries;
    expect(all).toHaveLength(765);
    expect([...new Set(all.map((q) => q.category))]).toEqual(['G1_instruction', 'G1_category', 'G1_tool', 'G2_category', 'G2_instruction', 'G3_instruction']);
    expect(loadQueries(testDir, { limit: 2 }).queries).toHaveLength(12);
    expect(loadQueries(testDir, { categories: ['G3_instruction'] }).queries).toHaveLength(61);
    expect(loadQueries(testDir, { ids: new Set([588, 608]) }).queries.map((q) => q.query.query_id).sort()).toEqual([588, 608]);
    expect(() => loadQueries(testDir, { categories: ['G4_nothing'] })).toThrow(/G4_nothing/);
  });

  it('assembles the exact ToolLLaMA system prompt of every StableToolBench sample answer', () => {
    // The template is read at run time from the shared data; kiln ships no copy of it.
    const template = readFileSync(join(toolbenchDir!, 'prompts', 'toolllama_system_prompt.txt'), 'utf8');
    const answersDir = join(toolbenchDir!, 'eval-sample', 'stabletoolbench', 'answer');
    const answers = loadRecordedAnswers(join(answersDir, 'virtual_chatgpt_cot'));
    const queries = new Map(loadQueries(testDir, { ids: new Set(answers.all().map((a) => a.queryId)) }).queries.map((q) => [q.query.query_id, q.query]));
    let checked = 0;
    for (const run of ['virtual_chatgpt_cot', 'virtual_chatgpt_dfs']) {
      for (const id of [588, 608, 1073]) {
        const suffix = run.endsWith('cot') ? 'CoT@1' : 'DFS_woFilter_w2';
        const raw = JSON.parse(readFileSync(join(answersDir, run, 'G1_instruction', `${id}_${suffix}.json`), 'utf8'));
        const generation = raw.answer_generation as { function: ToolFunction[]; train_messages?: { role: string; content: string }[][] };
        const query = queries.get(id)!;
        // The functions kiln offers are the ones the sample run offered.
        expect(pythonRepr(queryFunctions(query))).toBe(pythonRepr(generation.function));
        const rawSystem = generation.train_messages?.at(-1)?.[0]?.content;
        if (rawSystem === undefined) continue;
        // The sample runs had real tool descriptions; the test files have none, so take them from the run.
        const descriptions = Object.fromEntries([...rawSystem.matchAll(/^\d+\.([^:\n]+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
        const { messages } = startConversation(query, template, descriptions);
        expect(messages[0]!.content).toBe(processSystemMessage(rawSystem, generation.function));
        checked++;
      }
    }
    // CoT 588 never finished, so its file has no train_messages to compare with.
    expect(checked).toBe(5);
  });
});
