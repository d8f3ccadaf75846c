/**
 * What every loader must do with hostile input: return, or throw an error that names the file,
 * never a bare JavaScript error (TypeError, RangeError: a crash the code did not expect), and
 * never grow the process's memory out of proportion to the input. Hangs are caught by the test's
 * own timeout, as synchronous code cannot be interrupted.
 */
import { expect } from 'vitest';

export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

/** Memory a load may add over its input's size: room for the runtime's own noise. */
const slackBytes = 96 << 20;
/** Bytes of memory per byte of input a load may use (decoding, parsing, one copy as f32). */
const bytesPerInputByte = 64;

function memory(): { rss: number; buffers: number } {
  return { rss: process.resourceUsage().maxRSS * 1024, buffers: process.memoryUsage().arrayBuffers };
}

function check<T>(result: Outcome<T> | { thrown: unknown }, file: string, inputBytes: number, before: { rss: number; buffers: number }): Outcome<T> {
  const after = memory();
  const allowed = slackBytes + bytesPerInputByte * inputBytes;
  expect(after.rss - before.rss, 'peak RSS growth').toBeLessThan(allowed);
  expect(after.buffers - before.buffers, 'retained array buffers').toBeLessThan(allowed);
  if (!('thrown' in result)) return result;
  const err = result.thrown;
  expect(err, 'a thrown value is an Error').toBeInstanceOf(Error);
  const bare = [TypeError, RangeError, ReferenceError, SyntaxError].find((kind) => err instanceof kind);
  expect(bare === undefined ? '' : `${bare.name}: ${(err as Error).message}`, 'a bare JavaScript error').toBe('');
  expect((err as Error).message, 'the error names the file').toContain(file);
  return { ok: false, message: (err as Error).message };
}

/** Runs a synchronous load under the rules above. */
export function loadOrCleanError<T>(load: () => T, file: string, inputBytes: number): Outcome<T> {
  const before = memory();
  let result: Outcome<T> | { thrown: unknown };
  try {
    result = { ok: true, value: load() };
  } catch (thrown) {
    result = { thrown };
  }
  return check(result, file, inputBytes, before);
}

/** Runs an asynchronous load under the rules above. */
export async function loadOrCleanErrorAsync<T>(load: () => Promise<T>, file: string, inputBytes: number): Promise<Outcome<T>> {
  const before = memory();
  let result: Outcome<T> | { thrown: unknown };
  try {
    result = { ok: true, value: await load() };
  } catch (thrown) {
    result = { thrown };
  }
  return check(result, file, inputBytes, before);
}
