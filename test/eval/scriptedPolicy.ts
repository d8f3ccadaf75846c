/**
 * A deterministic fake policy for tests: step 1 calls the query's first API with valid arguments
 * (the examples given, or a value of the right type), step 2 calls Finish with an answer that
 * quotes the observation. No model involved.
 */
import { changeName, standardize, apiToFunction } from '../../src/toolbench/functions.js';
import type { Policy, PolicyCompletion, PolicyRequest } from '../../src/eval/policies/policy.js';

export class ScriptedPolicy implements Policy {
  readonly description = 'scripted test policy';
  readonly maxBatch: number;
  calls = 0;
  batchSizes: number[] = [];

  constructor(maxBatch = 32) {
    this.maxBatch = maxBatch;
  }

  async complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    this.batchSizes.push(requests.length);
    return requests.map((r) => {
      this.calls++;
      const api = r.query.api_list[0]!;
      if (r.callIndex === 0) {
        const args: Record<string, unknown> = {};
        for (const p of api.required_parameters) {
          const example = p.default;
          const key = changeName(standardize(p.name));
          if (p.type === 'NUMBER') args[key] = typeof example === 'number' || (typeof example === 'string' && /^-?\d+(\.\d+)?$/.test(example)) ? example : 1;
          else if (p.type === 'BOOLEAN') args[key] = true;
          else args[key] = typeof example === 'string' && example !== '' ? example : 'kiln';
        }
        return { ok: true, text: `Thought: call the first API\nAction: ${apiToFunction(api).name}\nAction Input: ${JSON.stringify(args)}` };
      }
      const observation = r.messages.at(-1)!.content;
      const finalAnswer = `Here is what I found: ${observation.slice(0, 400)}`;
      return {
        ok: true,
        text: `Thought: done\nAction: Finish\nAction Input: ${JSON.stringify({ return_type: 'give_answer', final_answer: finalAnswer })}`,
      };
    });
  }
}
