import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../scripts/demo/demoArgs.js';

describe('the demo command line', () => {
  it('takes no arguments, or a seed in either form', () => {
    expect(parseDemoArgs([])).toEqual({ seed: null });
    expect(parseDemoArgs(['--seed', '99'])).toEqual({ seed: 99 });
    expect(parseDemoArgs(['--seed=0'])).toEqual({ seed: 0 });
    expect(parseDemoArgs(['--seed', '4294967295'])).toEqual({ seed: 4294967295 });
  });

  it('refuses anything else with the usage, and a seed that is not a 32-bit unsigned integer', () => {
    expect(() => parseDemoArgs(['--sed', '3'])).toThrow(/unknown argument '--sed'.*usage: npm run demo/);
    expect(() => parseDemoArgs(['99'])).toThrow(/unknown argument '99'/);
    expect(() => parseDemoArgs(['--seed'])).toThrow(/--seed needs a value/);
    for (const bad of ['-1', '1.5', '1e3', '', 'abc', '4294967296', ' 7'])
      expect(() => parseDemoArgs(['--seed', bad]), bad).toThrow(`--seed '${bad}' is not an integer from 0 to 4294967295`);
  });
});
