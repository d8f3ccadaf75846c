/**
 * GPT-2's byte-level alphabet, shared by OPT: every byte 0-255 is shown as a printable unicode
 * character (printable Latin-1 bytes as themselves, the rest as U+0100 onwards), so BPE merges
 * operate on strings while covering arbitrary bytes. Also GPT-2's pre-tokenization pattern, which
 * splits text into the words that merges never cross.
 */

/** byteToUnicode[b] is the character standing for byte b. */
export const byteToUnicode: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
})();

export const unicodeToByte: ReadonlyMap<string, number> = new Map(byteToUnicode.map((c, b) => [c, b]));

/** GPT-2's split: contractions, letter runs, digit runs, other symbols, each with one leading space. */
export const gpt2PreTokenizePattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const encoder = new TextEncoder();

/** A piece of text as the byte-level string BPE works on. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += byteToUnicode[b];
  return out;
}
