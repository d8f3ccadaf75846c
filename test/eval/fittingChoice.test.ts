import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/eval/cli/cliArgs.js';
import { chooseFitting } from '../../src/eval/cli/cliSetup.js';
import type { Policy } from '../../src/eval/policies/policy.js';
import { fittingPolicyName, parseFittingPolicy } from '../../src/toolbench/fitting.js';

const policy = (fitting?: string): Policy => ({
  description: 'p',
  maxBatch: 1,
  complete: async () => [],
  ...(fitting ? { fitting: parseFittingPolicy(fitting) } : {}),
});

describe('chooseFitting', () => {
  it("uses the checkpoint's policy first, then --fitting, then ToolBench's rendering", () => {
    const notes: string[] = [];
    const log = (line: string) => notes.push(line);
    expect(fittingPolicyName(chooseFitting(policy('compact'), { fitting: 'desc=64' }, log))).toBe('compact');
    expect(notes).toEqual(["note: using the checkpoint's fitting policy compact; --fitting desc=64 is ignored"]);
    expect(fittingPolicyName(chooseFitting(policy(), { fitting: 'desc=64' }, log))).toBe('desc=64');
    expect(fittingPolicyName(chooseFitting(policy(), {}, log))).toBe('toolbench');
    expect(() => chooseFitting(policy(), { fitting: 'huge' }, log)).toThrow(UsageError);
  });
});
