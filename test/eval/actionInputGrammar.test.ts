/**
 * The grammar of a constrained Action Input: which characters may come next after a text, checked
 * with a vocabulary of single characters (so the allowed set is exactly the grammar's next
 * characters) and a few longer pieces that a token may carry across a boundary.
 */
import { describe, expect, it } from 'vitest';
import { allowedInputTokens, type InputSchema } from '../../src/eval/agent/actionInputGrammar.js';
import { indexPieces } from '../../src/eval/agent/actionNames.js';

const CHARS = [...' \n\t{}[]:,"\\-+.0123456789eEabcdfilnrstuyv/'];
const PIECES = [...CHARS, '": "', '"}', ', "', 'true', '1, "'];
const vocabulary = indexPieces(PIECES);
const schema: InputSchema = { keys: ['city', 'days', 'tags'], enums: { days: ['1', 'a"b'] } };
const next = (text: string, s: InputSchema = schema) => (allowedInputTokens(text, s, vocabulary) ?? []).map((i) => PIECES[i]!);
const nextChars = (text: string, s: InputSchema = schema) => next(text, s).filter((p) => p.length === 1).sort();

describe('allowedInputTokens', () => {
  it('opens one object at once (the label before it ends in its space)', () => {
    expect(nextChars('')).toEqual(['{']);
    expect(allowedInputTokens(' ', schema, vocabulary)).toBeNull();
  });

  it('bounds top-level keys to the parameters not yet written, and only them', () => {
    expect(nextChars('{')).toEqual([' ', '"', '}']);
    expect(nextChars('{"')).toEqual(['c', 'd', 't']);
    expect(nextChars('{"city": "Oslo", "')).toEqual(['d', 't']);
    // Nested keys are free.
    expect(nextChars('{"tags": {"').length).toBeGreaterThan(20);
  });

  it('after a value, allows only a comma or the end of its container', () => {
    expect(nextChars('{"city": "Oslo"')).toEqual([' ', ',', '}']);
    expect(nextChars('{"tags": [1')).toEqual([' ', ',', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'E', ']', 'e'].sort());
    expect(nextChars('{"tags": [true')).toEqual([' ', ',', ']']);
    expect(nextChars('{"tags": {"x": null}')).toEqual([' ', ',', '}']);
  });

  it('starts any JSON value where a free value goes', () => {
    expect(nextChars('{"tags":')).toEqual([' ', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[', 'f', 'n', 't', '{'].sort());
    expect(nextChars('{"tags": [')).toContain(']');
  });

  it('reads numbers and literals as JSON spells them', () => {
    expect(nextChars('{"tags": -')).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // A leading zero takes no more digits.
    expect(nextChars('{"tags": 0')).not.toContain('1');
    expect(nextChars('{"tags": 1.')).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(nextChars('{"tags": 1.5')).toEqual([' ', ',', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'E', '}', 'e'].sort());
    expect(nextChars('{"tags": 1e')).toEqual(['+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].sort());
    expect(nextChars('{"tags": tr')).toEqual(['u']);
    expect(next('{"tags": ')).toContain('true');
  });

  it('keeps raw control characters out of strings and reads escapes', () => {
    const inString = nextChars('{"city": "Os', { keys: ['city'] });
    expect(inString).not.toContain('\n');
    expect(inString).not.toContain('\t');
    expect(inString).toContain('"');
    expect(nextChars('{"city": "a\\', { keys: ['city'] })).toEqual(['"', '/', '\\', 'b', 'f', 'n', 'r', 't', 'u'].sort());
    expect(nextChars('{"city": "\\u00', { keys: ['city'] })).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'E', 'a', 'b', 'c', 'd', 'e', 'f'].sort());
  });

  it('holds an enum value to its strings, compared as JSON text', () => {
    expect(nextChars('{"days": ')).toEqual(['"']);
    expect(nextChars('{"days": "')).toEqual(['1', 'a']);
    expect(nextChars('{"days": "a')).toEqual(['\\']);
    expect(nextChars('{"days": "a\\"b')).toEqual(['"']);
    expect(nextChars('{"days": "1"')).toEqual([' ', ',', '}']);
  });

  it('allows one space in a gap, never a second or a newline', () => {
    expect(nextChars('{"city":')).toContain(' ');
    expect(nextChars('{"city": ')).not.toContain(' ');
    expect(nextChars('{')).not.toContain('\n');
  });

  it('checks a piece that crosses boundaries whole', () => {
    expect(next('{"city')).toContain('": "');
    expect(next('{"city": "Oslo')).toContain('"}');
    // `1, "` would open a key, and `days` is the enum key whose value must be a string; the key is then checked as it goes.
    expect(next('{"tags": [')).toContain('1, "');
    expect(next('{"days": ')).not.toContain('1, "');
  });

  it('reads from its indexes exactly the pieces that a scan of the whole vocabulary would allow', () => {
    // Random pieces made of JSON's fragments (no `}`, so the object stays open and every state has
    // a next character). The oracle asks whether the text with the piece appended still has a
    // continuation among single characters: a check that reads no multi-character index.
    let x = 11;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const fragments = ['"', ':', ',', ' ', '{', '[', ']', 'a', 'b', 'x', 'y', 'z', '1', '0', '-', '.', 'e', 'true', 'null', '\\', '\n', '_'];
    const pieces = ['', ...Array.from({ length: 300 }, () => {
      let piece = '';
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) piece += fragments[Math.floor(rnd() * fragments.length)];
      return piece;
    })];
    const whole = indexPieces(pieces);
    const singleChars = indexPieces([...new Set(fragments.join(''))]);
    const s: InputSchema = { keys: ['a', 'b', 'ab'], enums: { b: ['x', 'y"z'] } };
    let compared = 0;
    for (let trial = 0; trial < 100; trial++) {
      let text = '';
      for (let k = 0; k < 15; k++) {
        const indexed = allowedInputTokens(text, s, whole);
        const scanned = pieces.flatMap((p, id) => (p !== '' && allowedInputTokens(text + p, s, singleChars) !== null ? [id] : []));
        expect(indexed ?? []).toEqual(scanned);
        compared++;
        if (indexed === null) break;
        text += pieces[indexed[Math.floor(rnd() * indexed.length)]!];
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('is free once the object closes, and when the text already strays', () => {
    expect(allowedInputTokens('{"city": "Oslo"}', schema, vocabulary)).toBeNull();
    expect(allowedInputTokens('{"town', schema, vocabulary)).toBeNull();
  });
});
