import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../src/toolbench/jsonLossless.js';
import { PyFloat, pythonFloatRepr, pythonRepr } from '../../src/toolbench/pythonRepr.js';
import { skipReasonNoToolbench, toolbenchDir } from '../helpers/shared.js';

interface ReprCase {
  json_value: unknown;
  python_repr: string;
  python_repr_inside_list: string;
}

describe('pythonRepr', () => {
  it.skipIf(toolbenchDir === null)(`matches every case of python_repr_examples.json ${toolbenchDir === null ? skipReasonNoToolbench : ''}`, () => {
    const text = readFileSync(join(toolbenchDir!, 'prompts/examples/python_repr_examples.json'), 'utf8');
    const cases = parseJsonLossless(text) as ReprCase[];
    expect(cases.length).toBeGreaterThan(20);
    for (const c of cases) {
      expect(pythonRepr(c.json_value)).toBe(c.python_repr);
      expect(pythonRepr([c.json_value])).toBe(c.python_repr_inside_list);
    }
  });

  it('prints ints, floats, bools and None as Python does', () => {
    expect(pythonRepr(1)).toBe('1');
    expect(pythonRepr(new PyFloat(1))).toBe('1.0');
    expect(pythonRepr(1e21)).toBe('1000000000000000000000');
    expect(pythonRepr(2n ** 70n)).toBe('1180591620717411303424');
    expect(pythonRepr(-87.6244212)).toBe('-87.6244212');
    expect(pythonRepr(0.0001)).toBe('0.0001');
    expect(pythonRepr(0.00001234)).toBe('1.234e-05');
    expect(pythonRepr(new PyFloat(1.5e300))).toBe('1.5e+300');
    expect(pythonRepr(123456789.5)).toBe('123456789.5');
    expect(pythonRepr(new PyFloat(1e15))).toBe('1000000000000000.0');
    expect(pythonRepr(new PyFloat(-0))).toBe('-0.0');
    expect(pythonRepr({ a: [true, false, null] })).toBe("{'a': [True, False, None]}");
  });

  it('escapes strings as CPython unicode_repr', () => {
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr(`both ' and "`)).toBe(`'both \\' and "'`);
    expect(pythonRepr('\u007f\u0085\u00e9')).toBe("'\\x7f\\x85é'");
    expect(pythonRepr('\u{1F600}\u{E0001}')).toBe("'😀\\U000e0001'");
    expect(pythonRepr('\ud800x')).toBe("'\\ud800x'");
    expect(pythonRepr('\u3000\ufeff')).toBe("'\\u3000\\ufeff'");
  });

  it('float repr round-trips and uses the exponent outside [1e-4, 1e16)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const r = pythonFloatRepr(x);
        expect(Number(r)).toBe(x);
        expect(r).toMatch(/\.|e/);
        const a = Math.abs(x);
        if (a !== 0) expect(r.includes('e')).toBe(a < 1e-4 || a >= 1e16);
      }),
    );
  });
});

describe('parseJsonLossless', () => {
  it('agrees with JSON.parse apart from number kinds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, y) => (y instanceof PyFloat ? y.value : typeof y === 'bigint' ? Number(y) : y)));
        expect(plain(parseJsonLossless(text))).toEqual(JSON.parse(text));
      }),
    );
  });

  it('keeps integral floats, big ints and __proto__ keys', () => {
    expect(parseJsonLossless('[1.0, 1, 1e2, 123456789012345678]')).toEqual([new PyFloat(1), 1, new PyFloat(100), 123456789012345678n]);
    const obj = parseJsonLossless('{"__proto__": 1}') as Record<string, unknown>;
    expect(Object.keys(obj)).toEqual(['__proto__']);
    expect(() => parseJsonLossless('{"a": 1,}')).toThrow(/offset 8/);
    expect(() => parseJsonLossless('[1] x')).toThrow(/after the JSON value/);
  });
});
