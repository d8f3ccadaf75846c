import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, registerSecret, registerUrlSecrets, scrubSecrets, scrubValue } from '../../src/eval/secrets.js';

afterEach(clearSecrets);

describe('secrets', () => {
  it('takes user info and credential-like query values from a URL, not ordinary words', () => {
    registerUrlSecrets('http://me:pa%24%24word@host:8080/virtual?strip=truncate&api_key=ABCD1234');
    const text = 'me:pa$$word pa%24%24word ABCD1234 strip=truncate&api_key=ABCD1234 truncate';
    expect(scrubSecrets(text)).toBe('*** *** *** *** truncate');
  });

  it('keeps a malformed escape in user info as written instead of throwing', () => {
    registerUrlSecrets('http://me:%zzSECRET@host/');
    expect(scrubSecrets('me:%zzSECRET')).toBe('***');
  });

  it('replaces the longest secret first, so none is left half replaced', () => {
    registerSecret('abcd');
    registerSecret('abcdef-long');
    expect(scrubSecrets('x abcdef-long y abcd')).toBe('x *** y ***');
  });

  it('scrubs every string of a value, keys too, however deep, without touching the original', () => {
    registerSecret('sk-SECRET');
    let deep: unknown = { 'sk-SECRET': ['a sk-SECRET b', 3, null] };
    for (let i = 0; i < 3_000; i++) deep = [deep];
    const scrubbed = scrubValue(deep);
    expect(JSON.stringify(scrubbed)).not.toContain('sk-SECRET');
    expect(JSON.stringify(scrubbed).length).toBeGreaterThan(3_000);
    let inner: unknown = scrubbed;
    for (let i = 0; i < 3_000; i++) inner = (inner as unknown[])[0];
    expect(inner).toEqual({ '***': ['a *** b', 3, null] });
  });

  it('leaves short values alone: too common to replace safely', () => {
    registerSecret('abc');
    expect(scrubSecrets('abc')).toBe('abc');
  });
});
