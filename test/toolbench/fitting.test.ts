import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FINISH_FUNCTION,
  fitFunctions,
  FITTING_POLICY_FILE,
  fittingPolicyFileText,
  fittingPolicyName,
  parseFittingPolicy,
  queryFunctions,
  readFittingPolicy,
  type ApiEntry,
} from '../../src/toolbench/index.js';
import { pythonRepr } from '../../src/toolbench/pythonRepr.js';

const api: ApiEntry = {
  category_name: 'Data',
  tool_name: 'Sky Watch',
  api_name: 'Forecast',
  api_description: 'Five-day forecast 🌦 for a city, three-hourly, with wind and rain.',
  required_parameters: [{ name: 'city', type: 'STRING', description: 'City name 🌍 in English', default: 'Oslo' }],
  optional_parameters: [{ name: 'days', type: 'NUMBER', description: 'How many days ahead', default: 3 }],
  method: 'GET',
};
const functions = queryFunctions({ api_list: [api] });

describe('fitting policies', () => {
  it('parses specs into policies and names them canonically', () => {
    expect(fittingPolicyName(parseFittingPolicy('toolbench'))).toBe('toolbench');
    expect(fittingPolicyName(parseFittingPolicy('no-examples, desc=64,compact'))).toBe('compact,desc=64,no-examples');
    expect(parseFittingPolicy('no-optional')).toMatchObject({ dropOptional: true, compact: false, descriptionChars: null });
    expect(() => parseFittingPolicy('short')).toThrow(/unknown part "short"/);
    expect(() => parseFittingPolicy('desc=0')).toThrow(/unknown part "desc=0"/);
    expect(() => parseFittingPolicy('toolbench,compact')).toThrow(/unknown part "toolbench"/);
    expect(() => parseFittingPolicy(' , ')).toThrow(/empty/);
  });

  it('changes nothing under toolbench', () => {
    expect(pythonRepr(fitFunctions(functions, parseFittingPolicy('toolbench')))).toBe(pythonRepr(functions));
  });

  it('compact keeps only the API description; desc cuts by code points; names never change', () => {
    const [fn, finish] = fitFunctions(functions, parseFittingPolicy('compact,desc=12'));
    expect(fn!.name).toBe(functions[0]!.name);
    expect(functions[0]!.description).toMatch(/^This is the subfunction for tool "sky_watch"/);
    expect(fn!.description).toBe('Five-day for');
    expect(fn!.parameters.properties.city!.description).toBe('City name 🌍 ');
    expect(fn!.parameters.properties.city!.example_value).toBe('Oslo');
    expect(finish!.name).toBe('Finish');
    expect(finish!.description).toBe(FINISH_FUNCTION.description.slice(0, 12));
    // The input is a copy's source, never changed.
    expect(functions[0]!.description).toContain('wind and rain');
  });

  it('drops optional parameters and examples when asked, keeping required ones', () => {
    const [fn] = fitFunctions(functions, parseFittingPolicy('no-optional,no-examples'));
    expect(Object.keys(fn!.parameters.properties)).toEqual(['city']);
    expect(fn!.parameters.required).toEqual(['city']);
    expect(fn!.parameters.optional).toEqual([]);
    expect(fn!.parameters.properties.city).not.toHaveProperty('example_value');
    expect(functions[0]!.parameters.properties.days!.example_value).toBe(3);
  });

  it('reads the policy a checkpoint keeps, and ToolBench\'s when it keeps none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-fitting-'));
    try {
      expect(readFittingPolicy(dir)).toEqual({ policy: parseFittingPolicy('toolbench'), fromFile: false });
      writeFileSync(join(dir, FITTING_POLICY_FILE), fittingPolicyFileText(parseFittingPolicy('desc=64,compact')));
      const read = readFittingPolicy(dir);
      expect(read.fromFile).toBe(true);
      expect(fittingPolicyName(read.policy)).toBe('compact,desc=64');
      writeFileSync(join(dir, FITTING_POLICY_FILE), '{"policy": "tiny"}');
      expect(() => readFittingPolicy(dir)).toThrow(new RegExp(`${FITTING_POLICY_FILE}: .*unknown part "tiny"`));
      writeFileSync(join(dir, FITTING_POLICY_FILE), '{"policy": ');
      expect(() => readFittingPolicy(dir)).toThrow(/invalid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
