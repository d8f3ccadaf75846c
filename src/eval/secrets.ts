/**
 * Secrets known to this process — API keys read from the environment, credentials written into a
 * URL — and their removal from any text kiln prints or stores. Tool servers and endpoints can echo
 * a key back in an error; Node's fetch puts the whole URL in its own messages. Everything that
 * leaves through the results store, the log or a tool reply passes through `scrubSecrets`.
 */

const REDACTED = '***';
const CREDENTIAL_PARAMETER = /key|token|secret|pass|auth|sig|cred|session/i;
const secrets = new Set<string>();

/** Remembers a secret; values shorter than 4 characters are too common to replace safely. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) secrets.add(value);
}

/** Remembers the credentials of a URL: its user info and its query string. */
export function registerUrlSecrets(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  if (parsed.password !== '') {
    registerSecret(decodeUrlPart(parsed.password));
    registerSecret(parsed.password);
  }
  if (parsed.username !== '' && parsed.password !== '') {
    registerSecret(`${parsed.username}:${parsed.password}`);
    registerSecret(`${decodeUrlPart(parsed.username)}:${decodeUrlPart(parsed.password)}`);
  }
  else registerSecret(parsed.username);
  // The query string as written, and the values of credential-like parameters (a key may be
  // echoed without its name); other values (`strip=truncate`) are common words, left alone.
  if (parsed.search.length > 1) registerSecret(parsed.search.slice(1));
  for (const [name, value] of parsed.searchParams) if (CREDENTIAL_PARAMETER.test(name)) registerSecret(value);
}

/** A URL's percent-encoded part decoded, or as it is when its escapes are malformed. */
export function decodeUrlPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The text with every known secret replaced; the longest first, so one never leaves half another. */
export function scrubSecrets(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A JSON-like value with every string scrubbed (keys too), walked without recursion. */
export function scrubValue<T>(value: T): T {
  if (secrets.size === 0) return value;
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (value === null || typeof value !== 'object') return value;
  const root: { v: unknown } = { v: value };
  const stack: [Record<string | number, unknown>, string | number][] = [[root as Record<string, unknown>, 'v']];
  while (stack.length > 0) {
    const [holder, key] = stack.pop()!;
    const v = holder[key];
    if (typeof v === 'string') holder[key] = scrubSecrets(v);
    else if (Array.isArray(v)) {
      const copy = [...v];
      holder[key] = copy;
      for (let i = 0; i < copy.length; i++) stack.push([copy as unknown as Record<number, unknown>, i]);
    } else if (v !== null && typeof v === 'object') {
      const copy: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(v)) copy[scrubSecrets(k)] = child;
      holder[key] = copy;
      for (const k of Object.keys(copy)) stack.push([copy, k]);
    }
  }
  return root.v as T;
}

/** For tests: forget every secret. */
export function clearSecrets(): void {
  secrets.clear();
}
