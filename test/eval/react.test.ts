import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionInputEnd, parseReact, renderReact } from '../../src/eval/agent/react.js';

// Field texts that cannot contain the next marker, so the rendered text reads back unambiguously.
const field = fc.string({ maxLength: 40 }).filter((s) => !/Thought: |Action: |Action Input: /.test(s) && !s.includes('\n'));
const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,30}$/);
const json = fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.oneof(fc.string({ maxLength: 12 }), fc.integer())).map((o) => JSON.stringify(o));

describe('parseReact', () => {
  it('reads a rendered Thought / Action / Action Input back (property)', () => {
    fc.assert(
      fc.property(field, name, json, (thought, action, actionInput) => {
        const parsed = parseReact(renderReact({ thought: thought.trim(), action, actionInput }));
        expect(parsed).toEqual({ thought: thought.trim(), action, actionInput, strict: true });
      }),
    );
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const parsed = parseReact(text);
        expect(typeof parsed.action).toBe('string');
        expect(typeof parsed.actionInput).toBe('string');
      }),
    );
  });

  it('reads a multi-line pretty-printed Action Input whole', () => {
    const text = 'Thought: I will finish.\nAction: Finish\nAction Input: {\n  "return_type": "give_answer",\n  "final_answer": "42"\n}';
    expect(parseReact(text)).toEqual({
      thought: 'I will finish.',
      action: 'Finish',
      actionInput: '{\n  "return_type": "give_answer",\n  "final_answer": "42"\n}',
      strict: true,
    });
  });

  it('slices like Python when markers are missing (ToolBench compatibility)', () => {
    // No markers at all: find() = -1 everywhere. thought = s[8:-1], action = s[7:-1], input = s[13:].
    const s = 'just some free text here';
    expect(parseReact(s)).toEqual({
      thought: s.slice(8, -1),
      action: s.slice(7, -1).trim(),
      actionInput: s.slice(13),
      strict: false,
    });
    // Action without Thought: the thought is sliced from index 8 up to "\nAction: ".
    expect(parseReact('Action: get_x\nAction Input: {}').strict).toBe(false);
    expect(parseReact('Action: get_x\nAction Input: {}').action).toBe('get_x');
  });
});

describe('actionInputEnd', () => {
  it('finds the end of the Action Input object, minding strings, escapes and nesting', () => {
    const head = 'Thought: t\nAction: f\nAction Input: ';
    expect(actionInputEnd(`${head}{"a": 1}\nmore`)).toBe(head.length + 8);
    expect(actionInputEnd(`${head}{"a": "}\\"{", "b": [1, {"c": 2}]} x`)).toBe(head.length + 33);
    expect(actionInputEnd(`${head}{"a": {"b": 1}`)).toBe(-1);
    expect(actionInputEnd(`${head}"not an object"`)).toBe(-1);
    expect(actionInputEnd('Thought: no action yet {}')).toBe(-1);
  });

  it('agrees with JSON.parse on any object written after the marker (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (obj, tail) => {
        const json = JSON.stringify(obj);
        const text = `Action Input: ${json}${tail}`;
        expect(actionInputEnd(text)).toBe('Action Input: '.length + json.length);
      }),
    );
  });
});
