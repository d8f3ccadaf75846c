/**
 * Filling an API's `template_response` skeleton (docs/toolbench-formats.md §a) with values. Leaves are type words
 * (`str`, `int`, `float`, `bool`, `NoneType`, `empty list`, `list of <t> with length N`); a list
 * of objects is one object carrying `_list_length`. Values are drawn from the caller's seeded
 * source and are deliberately distinctive (pseudo-words, multi-digit numbers): the rule judge
 * tells real use of tool output from invention by finding these values in the answer
 * (docs/judge.md).
 */
import type { TextSeededRandom } from '../textSeededRandom.js';

// Lists in replies are kept short: observations are cut at 1,024 characters anyway.
const MAX_LIST_ITEMS = 3;

const SYLLABLES = [
  'ka', 'lo', 'mi', 'ren', 'vo', 'sel', 'tar', 'qui', 'zen', 'dor', 'fa', 'lin',
  'bri', 'mo', 'sa', 'te', 'vi', 'nor', 'gal', 'ush', 'pe', 'ram', 'tho', 'xe',
];

const LIST_LEAF = /^list of (\w+) with length (\d+)$/;

export function fillTemplate(template: unknown, rng: TextSeededRandom, key = ''): unknown {
  if (typeof template === 'string') return fillLeaf(template, rng, key);
  if (Array.isArray(template)) return fillList(template, rng, key);
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template as Record<string, unknown>)) {
      if (k !== '_list_length') out[k] = fillTemplate(v, rng, k);
    }
    return out;
  }
  // A bare number or boolean in a skeleton is unusual; keep it as the example it is.
  return template;
}

function fillList(items: unknown[], rng: TextSeededRandom, key: string): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    const listLeaf = typeof item === 'string' ? LIST_LEAF.exec(item) : null;
    if (listLeaf) {
      const n = Math.min(Number(listLeaf[2]), MAX_LIST_ITEMS);
      for (let i = 0; i < n; i++) out.push(fillLeaf(listLeaf[1]!, rng, key));
    } else if (item !== null && typeof item === 'object' && !Array.isArray(item) && '_list_length' in item) {
      const observed = Number((item as { _list_length: unknown })._list_length);
      const n = Math.min(Number.isFinite(observed) ? observed : 1, MAX_LIST_ITEMS);
      for (let i = 0; i < n; i++) out.push(fillTemplate(item, rng, key));
    } else {
      out.push(fillTemplate(item, rng, key));
    }
  }
  return out;
}

function fillLeaf(typeWord: string, rng: TextSeededRandom, key: string): unknown {
  const listLeaf = LIST_LEAF.exec(typeWord);
  if (listLeaf) return fillList([typeWord], rng, key);
  switch (typeWord) {
    case 'str':
      return stringFor(key.toLowerCase(), rng);
    case 'int':
      return intFor(key.toLowerCase(), rng);
    case 'float':
      // Parsed from decimal text so it prints back as the same short decimal, never as an integer.
      return Number(`${rng.int(1, 9999)}.${String(rng.int(1, 99)).padStart(2, '0')}`);
    case 'bool':
      return rng.next() < 0.5;
    case 'NoneType':
      return null;
    case 'empty list':
      return [];
    case 'list':
      return [pseudoWord(rng), pseudoWord(rng)];
    default:
      return pseudoPhrase(rng, 2);
  }
}

function stringFor(key: string, rng: TextSeededRandom): string {
  if (/url|link|href|website|image|img|thumbnail|logo|avatar/.test(key)) {
    return `https://${pseudoWord(rng)}.example/${pseudoWord(rng)}/${rng.int(1000, 99999)}`;
  }
  if (/email/.test(key)) return `${pseudoWord(rng)}@${pseudoWord(rng)}.example`;
  if (/date|time|created|updated|published|_at$/.test(key)) return isoDate(rng);
  if (/phone/.test(key)) return `+1-${rng.int(200, 989)}-${rng.int(200, 989)}-${rng.int(1000, 9999)}`;
  if (/(^|_)id$|uuid|code|slug|key/.test(key)) return `${pseudoWord(rng)}${rng.int(100, 99999)}`;
  if (/desc|bio|text|content|summary|about|message|comment|review|body|overview/.test(key)) {
    return `${capitalise(pseudoPhrase(rng, 6))}.`;
  }
  if (/name|title|author|artist|city|country|brand|label|category/.test(key)) {
    return `${capitalise(pseudoWord(rng))} ${capitalise(pseudoWord(rng))}`;
  }
  return capitalise(pseudoPhrase(rng, 2));
}

function intFor(key: string, rng: TextSeededRandom): number {
  if (/year/.test(key)) return rng.int(1960, 2023);
  if (/page|rank|position|index|age/.test(key)) return rng.int(11, 99);
  return rng.int(101, 99_999);
}

function isoDate(rng: TextSeededRandom): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${rng.int(1995, 2023)}-${two(rng.int(1, 12))}-${two(rng.int(1, 28))}`;
}

function pseudoWord(rng: TextSeededRandom): string {
  const n = rng.int(2, 3);
  let word = '';
  for (let i = 0; i < n; i++) word += rng.pick(SYLLABLES);
  return word;
}

function pseudoPhrase(rng: TextSeededRandom, words: number): string {
  return Array.from({ length: words }, () => pseudoWord(rng)).join(' ');
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
