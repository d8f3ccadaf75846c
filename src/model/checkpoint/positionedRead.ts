/**
 * Positioned reads of an exact byte range from an open file, used by the checkpoint readers so
 * each tensor's bytes go straight from disk into the buffer that will hold them (no whole-file
 * copy in memory).
 */
import { readSync } from 'node:fs';

// readSync moves at most about 2 GiB per call; larger ranges are read in pieces.
const maxChunk = 1 << 30;

/** Fills `target` from `fd` starting at byte `position`; `what` names the range in errors. */
export function readExactly(fd: number, target: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, Math.min(maxChunk, target.byteLength - done), position + done);
    if (n === 0) {
      throw new Error(`${what}: file ends after ${done} of ${target.byteLength} bytes at offset ${position}`);
    }
    done += n;
  }
}
