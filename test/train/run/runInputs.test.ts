/** The settings a run checks against the model and reads before it loads any data. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunInputs } from '../../../src/train/run/runInputs.js';
import { runOptions } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-run-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readRunInputs', () => {
  it('takes the model\'s positions when --max-length is 0, and refuses a longer --max-length', () => {
    expect(readRunInputs(runOptions({ maxLength: 0 }), 128).maxTokens).toBe(128);
    expect(readRunInputs(runOptions({ maxLength: 96 }), 128).maxTokens).toBe(96);
    expect(() => readRunInputs(runOptions({ maxLength: 129 }), 128)).toThrow("--max-length 129 exceeds the model's max_position_embeddings 128");
  });

  it('reads the prompt template, and refuses one without a functions placeholder, naming the file', () => {
    const good = join(dir, 'good.txt');
    writeFileSync(good, 'Tools: {functions}');
    expect(readRunInputs(runOptions({ promptTemplate: good }), 128).promptTemplate).toBe('Tools: {functions}');
    expect(readRunInputs(runOptions(), 128).promptTemplate).toBeNull();
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'Tools: none');
    expect(() => readRunInputs(runOptions({ promptTemplate: bad }), 128)).toThrow(`--prompt-template ${bad}: the template has no {functions}`);
  });

  it('parses the fitting policy', () => {
    expect(readRunInputs(runOptions({ fitting: 'toolbench' }), 128).fitting).toEqual(readRunInputs(runOptions(), 128).fitting);
    expect(() => readRunInputs(runOptions({ fitting: 'no-such-policy' }), 128)).toThrow();
  });
});
