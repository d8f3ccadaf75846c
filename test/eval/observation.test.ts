import { describe, expect, it } from 'vitest';
import { MAX_OBSERVATION_LENGTH, observationText, readObservation } from '../../src/eval/calls/observation.js';
import { pythonJsonDumps } from '../../src/eval/calls/pythonJson.js';
import { parsePartialJson } from '../../src/eval/calls/partialJson.js';
import { parsePythonLiteral } from '../../src/toolbench/pythonLiteral.js';

describe('observationText', () => {
  it('writes json.dumps with Python separators and ASCII escapes', () => {
    expect(observationText({ error: '', response: "{'a': 'é'}" })).toBe('{"error": "", "response": "{\'a\': \'\\u00e9\'}"}');
    expect(pythonJsonDumps({ a: [1, 2.5, true, null], b: '\u{1F600}\n"' })).toBe('{"a": [1, 2.5, true, null], "b": "\\ud83d\\ude00\\n\\""}');
  });

  it('cuts at 1,024 characters and appends ...', () => {
    const text = observationText({ error: '', response: 'x'.repeat(2000) });
    expect(text).toHaveLength(MAX_OBSERVATION_LENGTH + 3);
    expect(text.endsWith('x...')).toBe(true);
    expect(observationText({ error: '', response: 'short' })).toBe('{"error": "", "response": "short"}');
  });

  it('reads the reply back, also from a cut text', () => {
    expect(readObservation('{"error": "", "response": {"a": 1}}')).toEqual({ error: '', response: { a: 1 } });
    const cut = observationText({ error: 'Rate limit error...', response: 'y'.repeat(2000) });
    expect(readObservation(cut).error).toBe('Rate limit error...');
  });
});

describe('parsePartialJson', () => {
  it('keeps the complete members of a cut text and closes the containers', () => {
    expect(parsePartialJson('{"a": "str", "b": [{"c": "int", "_list_length": 2}], "d": "fl')).toEqual({
      a: 'str',
      b: [{ c: 'int', _list_length: 2 }],
    });
    expect(parsePartialJson('{"a": {"b": 12')).toEqual({ a: {} });
    expect(parsePartialJson('[1, 2')).toEqual([1]);
    expect(parsePartialJson('{"x": 1}')).toEqual({ x: 1 });
  });
});

describe('parsePythonLiteral', () => {
  it("reads Python's str() of JSON-like values", () => {
    expect(parsePythonLiteral("{'a': [1, 2.5, True, None], \"it's\": 'x\\'y', 'u': '\\xe9'}")).toEqual({
      a: [1, 2.5, true, null],
      "it's": "x'y",
      u: 'é',
    });
    expect(parsePythonLiteral("{'a': ")).toBeUndefined();
    expect(parsePythonLiteral('plain words')).toBeUndefined();
  });
});
