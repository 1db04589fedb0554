import { fileURLToPath } from 'node:url';
import { InvalidUriError, UnsafePathError, UnsupportedSchemeError } from './errors.ts';
import { redactUri } from './redact.ts';

/** The schemes artifacts may use, after aliases are folded (`s3a`, `s3p` -> `s3`; `abfss`, `wasb`... -> `azure`). */
export type ArtifactScheme = 's3' | 'gs' | 'oss' | 'azure' | 'http' | 'https' | 'file' | 'local';

/** Every scheme spelling accepted in a URI, mapped to the scheme that handles it. */
export const SCHEME_ALIASES: Readonly<Record<string, ArtifactScheme>> = {
  s3: 's3',
  s3a: 's3',
  s3p: 's3',
  gs: 'gs',
  oss: 'oss',
  abfs: 'azure',
  abfss: 'azure',
  wasb: 'azure',
  wasbs: 'azure',
  http: 'http',
  https: 'https',
  file: 'file',
  local: 'local',
};

/** Where an artifact lives, one shape per kind of store. */
export type ArtifactLocation =
  | { readonly scheme: 's3' | 'gs' | 'oss'; readonly bucket: string; readonly key: string }
  /** Azure Blob Storage: `bucket` is the container, `key` the blob's name. */
  | { readonly scheme: 'azure'; readonly bucket: string; readonly key: string; readonly account: string; readonly endpointSuffix: string }
  | { readonly scheme: 'http' | 'https'; readonly url: string }
  | { readonly scheme: 'file' | 'local'; readonly path: string };

/** A parsed artifact URI. */
export interface ArtifactUri {
  /** Exactly what the user wrote (may hold credentials: never print it, print `display`). */
  readonly raw: string;
  /** `raw` with user info and query values masked: safe for logs and errors. */
  readonly display: string;
  /** Where to read the bytes. */
  readonly location: ArtifactLocation;
  /** The file name the artifact gets in the target directory: the last path segment, decoded. */
  readonly fileName: string;
  /** Lowercase hex SHA-256 the content must have, from a `#sha256=<hex>` fragment. */
  readonly sha256: string | undefined;
}

const SCHEME_PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const SHA256_FRAGMENT = /^sha256=([0-9a-fA-F]{64})$/;
/** Linux NAME_MAX: longer names fail at open() with ENAMETOOLONG; say so up front instead. */
const MAX_FILE_NAME_BYTES = 255;
/** The directory inside the cluster directory where temporary files and fetch records live. */
export const STATE_DIR_NAME = '.flink-artifacts';

/**
 * Parses one artifact URI as Flink's application mode accepts it. A plain absolute path is
 * taken as `local://` (a file already in the image), as Flink does for a scheme-less jar path.
 *
 * @throws InvalidUriError for text that is not a usable URI of its scheme.
 * @throws UnsupportedSchemeError for schemes no driver handles.
 * @throws UnsafePathError when the file name derived from the URI is not a plain name.
 */
export function parseArtifactUri(input: string): ArtifactUri {
  const raw = input.trim();
  const display = redactUri(raw);
  if (raw === '') throw new InvalidUriError('empty artifact URI');
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw new InvalidUriError(`artifact URI contains control characters: ${JSON.stringify(display)}`);
  }

  if (raw.startsWith('/')) {
    // Taken literally (no percent-encoding), except a trailing #sha256=<64 hex> pin, which
    // means what it means on every other URI rather than becoming part of the file name.
    const pinned = /#(sha256=[^/#]*)$/i.exec(raw);
    const sha256 = pinned === null ? undefined : SHA256_FRAGMENT.exec(pinned[1]!)?.[1];
    if (pinned !== null && sha256 === undefined) {
      // As for a URI: a pin that is not one is an error, not part of the file name.
      throw new InvalidUriError(`unsupported fragment in ${display}`, { hint: 'the only fragment understood is #sha256=<64 hex digits>' });
    }
    const location: ArtifactLocation = { scheme: 'local', path: pinned === null ? raw : raw.slice(0, pinned.index) };
    return { raw, display, location, fileName: fileNameOf(location, display), sha256: sha256?.toLowerCase() };
  }

  const schemeMatch = SCHEME_PATTERN.exec(raw);
  if (!schemeMatch?.[1]) {
    throw new InvalidUriError(`not an absolute URI: ${display}`, {
      hint: 'use scheme://..., or an absolute path for a file already in the image',
    });
  }
  const givenScheme = schemeMatch[1].toLowerCase();
  const scheme = SCHEME_ALIASES[givenScheme];
  if (!scheme) {
    throw new UnsupportedSchemeError(`unsupported scheme "${givenScheme}" in ${display}`, givenScheme, {
      hint: `supported schemes: ${Object.keys(SCHEME_ALIASES).join(', ')}`,
    });
  }

  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new InvalidUriError(`malformed URI: ${display}`, { cause });
  }

  assertNoDotSegments(raw, display);
  const sha256 = parseFragment(url, display);
  const location = locate(scheme, url, display);
  const fileName = fileNameOf(location, display);
  return { raw, display, location, fileName, sha256 };
}

function parseFragment(url: URL, display: string): string | undefined {
  if (url.hash === '' || url.hash === '#') return undefined;
  const match = SHA256_FRAGMENT.exec(url.hash.slice(1));
  if (!match?.[1]) {
    throw new InvalidUriError(`unsupported fragment in ${display}`, {
      hint: 'the only fragment understood is #sha256=<64 hex digits>',
    });
  }
  return match[1].toLowerCase();
}

// Azure: <account>.dfs.<suffix> (abfs) or <account>.blob.<suffix> (wasb); the suffix names the
// cloud. Only Azure's own clouds: credentials for the account go to the host the URI names, so
// a host elsewhere (a typo, or a name someone registered) must not receive them. Azurite and
// private endpoints keep the URI's form and set flink-artifacts.azure.endpoint.
export const AZURE_ENDPOINT_SUFFIXES = ['core.windows.net', 'core.chinacloudapi.cn', 'core.usgovcloudapi.net'] as const;
const AZURE_HOST = /^([a-z0-9]{3,24})\.(dfs|blob)\.([a-z0-9-]+(\.[a-z0-9-]+)+)$/;
const AZURE_CONTAINER = /^(\$root|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/;

function locate(scheme: ArtifactScheme, url: URL, display: string): ArtifactLocation {
  // In abfs/wasb URIs the user-info part is the container, not a credential.
  if ((url.username !== '' && scheme !== 'azure') || url.password !== '') {
    throw new InvalidUriError(`credentials in URIs are not supported: ${display}`, {
      hint: 'pass credentials through Flink options, environment or Secrets',
    });
  }
  switch (scheme) {
    case 'azure': {
      const form = 'abfss://<container>@<account>.dfs.core.windows.net/<path> or wasbs://<container>@<account>.blob.core.windows.net/<path>';
      const container = decodeSegments(url.username, display);
      if (container === '') throw new InvalidUriError(`missing container in ${display}`, { hint: form });
      if (!AZURE_CONTAINER.test(container)) throw new InvalidUriError(`"${container}" is not a valid container name in ${display}`, { hint: 'lowercase letters, digits and single "-", 3 to 63 characters' });
      const host = AZURE_HOST.exec(url.hostname.toLowerCase());
      if (host === null) throw new InvalidUriError(`the host of ${display} must be <account>.dfs.<endpoint suffix> or <account>.blob.<endpoint suffix>`, { hint: form });
      if (!(AZURE_ENDPOINT_SUFFIXES as readonly string[]).includes(host[3]!)) {
        throw new InvalidUriError(`${display}: ${host[3]} is not an Azure Storage endpoint suffix`, {
          hint: `use ${AZURE_ENDPOINT_SUFFIXES.join(', ')}; for Azurite or a private endpoint keep that form and set flink-artifacts.azure.endpoint`,
        });
      }
      if (url.port !== '') throw new InvalidUriError(`an Azure storage account has no port: ${display}`);
      if (url.search !== '') throw new InvalidUriError(`query strings are not supported for ${scheme} URIs: ${display}`, { hint: 'give a SAS token through the options or the environment' });
      const key = decodeSegments(url.pathname.replace(/^\//, ''), display);
      if (key === '' || key.endsWith('/')) throw new InvalidUriError(`${display} names a container or a directory, not a file`);
      return { scheme, bucket: container, key, account: host[1]!, endpointSuffix: host[3]! };
    }
    case 's3':
    case 'gs':
    case 'oss': {
      const bucket = url.hostname;
      if (bucket === '') throw new InvalidUriError(`missing bucket in ${display}`);
      if (url.port !== '') throw new InvalidUriError(`a bucket has no port: ${display}`);
      if (url.search !== '') throw new InvalidUriError(`query strings are not supported for ${scheme}:// URIs: ${display}`);
      const key = decodeSegments(url.pathname.replace(/^\//, ''), display);
      if (key === '' || key.endsWith('/')) {
        throw new InvalidUriError(`${display} names a bucket or a prefix, not an object`);
      }
      return { scheme, bucket, key };
    }
    case 'http':
    case 'https': {
      if (url.hostname === '') throw new InvalidUriError(`missing host in ${display}`);
      url.hash = '';
      return { scheme, url: url.href };
    }
    case 'file': {
      if (url.hostname !== '' && url.hostname !== 'localhost') {
        throw new InvalidUriError(`file:// URIs must not name a host: ${display}`, { hint: 'use file:///absolute/path' });
      }
      if (url.search !== '') throw new InvalidUriError(`query strings are not supported for file:// URIs: ${display}`);
      let path: string;
      try {
        url.hash = '';
        path = fileURLToPath(url);
      } catch (cause) {
        throw new InvalidUriError(`malformed file URI: ${display}`, { cause });
      }
      return { scheme, path };
    }
    case 'local': {
      if (url.host !== '') {
        throw new InvalidUriError(`local:// URIs take an absolute path after three slashes: ${display}`, {
          hint: `did you mean local:///${url.host}${url.pathname}?`,
        });
      }
      if (url.search !== '') throw new InvalidUriError(`query strings are not supported for local:// URIs: ${display}`);
      const path = decodeSegments(url.pathname, display);
      if (!path.startsWith('/')) throw new InvalidUriError(`local:// URIs take an absolute path: ${display}`);
      return { scheme, path };
    }
  }
}

/**
 * Refuses `.`/`..` segments and encoded separators in the path as written. URL parsing would
 * quietly normalise `a/../b` to `b` (fetching another object than the one named) and decoding
 * `%2F` would smuggle a separator into a file name; neither has a legitimate use here.
 */
function assertNoDotSegments(raw: string, display: string): void {
  const afterScheme = raw.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:(\/\/[^/?#]*)?/, '');
  const path = afterScheme.split(/[?#]/, 1)[0] ?? '';
  for (const segment of path.split(/[/\\]/)) {
    if (/%(2f|5c)/i.test(segment)) throw new UnsafePathError(`encoded path separator in ${display}`);
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') throw new UnsafePathError(`"${decoded}" path segment in ${display}`);
  }
}

function decodeSegments(path: string, display: string): string {
  try {
    return decodeURIComponent(path);
  } catch (cause) {
    throw new InvalidUriError(`bad percent-encoding in ${display}`, { cause });
  }
}

function fileNameOf(location: ArtifactLocation, display: string): string {
  let name: string;
  switch (location.scheme) {
    case 's3':
    case 'gs':
    case 'oss':
    case 'azure':
      name = lastSegment(location.key);
      break;
    case 'http':
    case 'https': {
      const pathname = new URL(location.url).pathname;
      const encoded = pathname.slice(pathname.lastIndexOf('/') + 1);
      name = decodeSegments(encoded, display);
      break;
    }
    case 'file':
    case 'local':
      name = lastSegment(location.path);
      break;
  }
  assertPlainFileName(name, display);
  return name;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * A name that is safe to join to a directory: one segment, no traversal, no separators of any
 * platform, not our own state directory, short enough for the filesystem.
 *
 * @throws UnsafePathError naming the URI.
 */
export function assertPlainFileName(name: string, display: string): void {
  if (name === '') throw new UnsafePathError(`no file name in ${display}`, { hint: 'the URI must end with a file name' });
  if (name === '.' || name === '..') throw new UnsafePathError(`file name "${name}" escapes the target directory: ${display}`);
  if (/[/\\]/.test(name)) throw new UnsafePathError(`file name contains a path separator: ${display}`);
  if (name.includes('\u0000')) throw new UnsafePathError(`file name contains a NUL byte: ${display}`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UnsafePathError(`file name contains control characters: ${display}`);
  if (name === STATE_DIR_NAME) throw new UnsafePathError(`file name "${name}" is reserved: ${display}`);
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) {
    throw new UnsafePathError(`file name longer than ${MAX_FILE_NAME_BYTES} bytes: ${display}`);
  }
}
