/**
 * Redaction for anything that may end up in a log line or an error message. Signed URLs carry
 * their credentials in the query string (X-Amz-Signature, X-Goog-Signature, sig, token...), and
 * old-style URIs carry them as user info, so both are masked wholesale rather than by a list of
 * known parameter names that would always be one name short.
 */

const MASK = '***';

/** The URI with user info and every query value masked. Works on strings that are not valid URLs too. */
export function redactUri(uri: string): string {
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!schemeMatch) return maskQuery(uri);
  const prefix = schemeMatch[0];
  const rest = uri.slice(prefix.length);
  // Authority ends at the first '/', '?' or '#'; '@' inside it separates user info.
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  // In abfs/wasb URIs the part before '@' is the container, which is no secret (a password,
  // after a ':', would be).
  const container = /^(abfss?|wasbs?):\/\/$/i.test(prefix) && at !== -1 && !authority.slice(0, at).includes(':');
  const host = at === -1 || container ? authority : `${MASK}@${authority.slice(at + 1)}`;
  return prefix + host + maskQuery(tail);
}

function maskQuery(text: string): string {
  const q = text.indexOf('?');
  if (q === -1) return text;
  const hash = text.indexOf('#', q);
  const query = hash === -1 ? text.slice(q + 1) : text.slice(q + 1, hash);
  const fragment = hash === -1 ? '' : text.slice(hash);
  const masked = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1 ? (pair === '' ? '' : MASK) : `${pair.slice(0, eq)}=${MASK}`;
    })
    .join('&');
  return `${text.slice(0, q)}?${masked}${fragment}`;
}

/**
 * Replaces every occurrence of the given secret values in a text. Used on messages that come
 * from SDKs and servers, which may echo a header or a key back.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would mask ordinary words; they are not credentials worth the noise.
    if (secret.length >= 4) out = out.split(secret).join(MASK);
  }
  return out;
}
