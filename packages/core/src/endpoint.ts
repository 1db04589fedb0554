import { ConfigError } from './errors.ts';
import { redactUri } from './redact.ts';

// host, host:port, [v6]:port, then an optional path: what a scheme-less endpoint may be.
const BARE_ENDPOINT = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?(\/[^?#\s]*)?$/i;

/**
 * A store's endpoint as configured (`s3.endpoint`, `fs.oss.endpoint`,
 * `flink-artifacts.azure.endpoint`): `http(s)://host[:port][/path]`, or, where the store allows
 * it, a bare `host[:port]` (https). Anything else is refused before a request is made: a
 * misspelled `http:/host` would otherwise become the host name "http" (and a DNS query for
 * it), and user info would travel with every request.
 *
 * @throws ConfigError naming the key, with the value masked.
 */
export function checkEndpoint(value: string, key: string, options: { readonly bare: boolean }): string {
  if (options.bare && BARE_ENDPOINT.test(value)) return value;
  const shown = JSON.stringify(redactUri(value));
  const wanted = `${key} must be an http(s) URL${options.bare ? ' or a host name' : ''}, got ${shown}`;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if ((scheme !== 'http' && scheme !== 'https') || url === undefined || !/^[a-z]+:\/\/[^/\\]/i.test(value) || url.hostname === '') {
    throw new ConfigError(wanted, { key, hint: 'for example https://s3.example.com or http://127.0.0.1:9000' });
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${key} carries user info (${shown}): credentials go in their own keys, not in the endpoint`, { key });
  }
  if (url.search !== '' || url.hash !== '') throw new ConfigError(`${key} must not carry a query or a fragment, got ${shown}`, { key });
  return value;
}
