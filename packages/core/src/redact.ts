/**
 * Redaction for anything that may end up in a log line or an error message. Signed URLs carry
 * their credentials in the query string (X-Amz-Signature, X-Goog-Signature, sig, token...), and
 * old-style URIs carry them as user info, so both are masked wholesale rather than by a list of
 * known parameter names that would always be one name short.
 */

const MASK = '***';

/** A `#sha256=` pin: a checksum, no secret, and worth seeing in a message. */
const PIN_FRAGMENT = /^#sha256=[0-9a-fA-F]{64}$/;

/**
 * The URI with user info, every query value and any fragment but a `#sha256=` pin masked.
 * Works on text that is not a valid URL too, and on the spellings URL parsers accept beyond
 * `scheme://` (`https:/u:p@h`, `https:\\u:p@h`, `https:u:p@h`, `s3:/key:secret@bucket`).
 */
export function redactUri(uri: string): string {
  const schemeMatch = /^[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]*/.exec(uri);
  if (!schemeMatch) return maskQuery(uri);
  const prefix = schemeMatch[0];
  const rest = uri.slice(prefix.length);
  // The authority ends at the first '/', '\', '?' or '#' (the WHATWG URL parser's rule for
  // http(s); other schemes are read the same way here, which only ever masks more).
  const authorityEnd = rest.search(/[/\\?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  let at = authority.lastIndexOf('@');
  let tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  let host = authority;
  if (at === -1 && !parses(uri)) {
    // Unparseable, perhaps because a password holds '/' or '#': everything up to the last '@'
    // before the query may be user info.
    const query = rest.indexOf('?');
    const beforeQuery = query === -1 ? rest : rest.slice(0, query);
    at = beforeQuery.lastIndexOf('@');
    if (at !== -1) {
      host = rest.slice(0, at + 1 + authorityOf(rest.slice(at + 1)).length);
      tail = rest.slice(host.length);
    }
  }
  if (at !== -1) {
    const userInfo = host.slice(0, at);
    // In abfs/wasb URIs the part before '@' is the container, no secret (a password, after a
    // ':', would be).
    const container = /^(abfss?|wasbs?):\/\/$/i.test(prefix) && /^[a-z0-9$-]+$/i.test(userInfo);
    if (!container) host = `${MASK}@${host.slice(at + 1)}`;
  }
  return prefix + host + maskQuery(tail);
}

function authorityOf(text: string): string {
  const end = text.search(/[/\\?#]/);
  return end === -1 ? text : text.slice(0, end);
}

function parses(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function maskQuery(text: string): string {
  const hash = text.indexOf('#');
  const beforeHash = hash === -1 ? text : text.slice(0, hash);
  const fragment = hash === -1 ? '' : text.slice(hash);
  const shownFragment = fragment === '' || PIN_FRAGMENT.test(fragment) ? fragment : `#${MASK}`;
  const q = beforeHash.indexOf('?');
  if (q === -1) return beforeHash + shownFragment;
  const masked = beforeHash
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? (pair === '' ? '' : MASK) : `${pair.slice(0, eq)}=${MASK}`;
    })
    .join('&');
  return `${beforeHash.slice(0, q)}?${masked}${shownFragment}`;
}

/**
 * Values shorter than this are not masked by substring: they would mask ordinary words (an
 * access key `flink` turned every `flink-artifacts` into `***-artifacts`), and a credential
 * that short is no credential worth the noise.
 */
export const MIN_MASKED_SECRET_LENGTH = 8;

/**
 * Replaces every occurrence of the given secret values in a text, also as they read inside a
 * JSON string (a `"` or `\` in a value is escaped there). Used on messages that come from SDKs
 * and servers, which may echo a header or a key back.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < MIN_MASKED_SECRET_LENGTH) continue;
    out = out.split(secret).join(MASK);
    const inJson = JSON.stringify(secret).slice(1, -1);
    if (inJson !== secret) out = out.split(inJson).join(MASK);
  }
  return out;
}

/**
 * Text safe to print on a terminal: control characters (C0 but newline and tab, DEL, C1) and
 * Unicode's bidirectional overrides written as visible escapes (`\u001b`), so that text from outside (a
 * server's status line, a URI) cannot move the cursor, erase lines or reorder what is shown.
 */
export function printable(text: string): string {
  // `\u001b`, not `\x1b`: the same escape is valid inside a JSON string, so a JSON document
  // stays one.
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
