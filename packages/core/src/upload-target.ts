import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ObjectRef } from './driver.ts';
import { ConfigError } from './errors.ts';
import { FlinkKeys } from './options.ts';
import { redactUri } from './redact.ts';
import { SCHEME_ALIASES, parseArtifactUri, type ArtifactLocation } from './uri.ts';

/** Where local artifacts are uploaded: `kubernetes.artifacts.local-upload-target`. */
export type UploadTarget =
  | {
      readonly scheme: 's3' | 'gs' | 'oss' | 'azure';
      readonly givenScheme: string;
      /** The bucket (for Azure, the container). */
      readonly bucket: string;
      /** What stands between `//` and the path: the bucket, or `<container>@<account host>` for Azure. */
      readonly authority: string;
      readonly prefix: string;
      readonly display: string;
    }
  | { readonly scheme: 'file'; readonly dir: string; readonly display: string };

/** An object in the upload target: its address for drivers and the URI Flink will fetch. */
export interface UploadDestination extends ObjectRef {
  /** The rewritten artifact URI, e.g. `s3://bucket/prefix/job.jar`. */
  readonly uri: string;
}

/**
 * Parses the upload target. Accepted: `s3://bucket[/prefix/]` (and `s3a://`, `s3p://`),
 * `gs://bucket[/prefix/]`, `oss://bucket[/prefix/]`,
 * `abfss://<container>@<account>.dfs.core.windows.net[/prefix/]` (and `abfs`, `wasb[s]` with
 * `.blob.`), `file:///absolute/dir[/]`. The prefix is a directory: a missing trailing slash is
 * added.
 *
 * @throws ConfigError naming `kubernetes.artifacts.local-upload-target`.
 */
export function parseUploadTarget(text: string | undefined): UploadTarget {
  const key = FlinkKeys.localUploadTarget;
  const value = text?.trim();
  if (value === undefined || value === '') {
    throw new ConfigError(`${key} is not set: it says where local artifacts are uploaded`, {
      key,
      hint: `for example -D${key}=s3://my-bucket/flink-artifacts/`,
    });
  }
  const display = redactUri(value);
  const bad = (why: string): ConfigError =>
    new ConfigError(`${key} ${display} ${why}`, { key, hint: 'use s3://bucket/prefix/, gs://bucket/prefix/, oss://bucket/prefix/, abfss://container@account.dfs.core.windows.net/prefix/ or file:///dir/' });
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  const folded = scheme === undefined ? undefined : SCHEME_ALIASES[scheme];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('is not a valid URI');
  }
  if ((url.username !== '' && folded !== 'azure') || url.password !== '') throw bad('must not carry credentials');
  if (url.search !== '' || url.hash !== '') throw bad('must not have a query or fragment');
  if (folded === 's3' || folded === 'gs' || folded === 'oss' || folded === 'azure') {
    if (url.hostname === '') throw bad('has no bucket');
    if (folded === 'azure' && url.username === '') throw bad('has no container (<container>@<account>...)');
    let prefix: string;
    try {
      prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
    } catch {
      throw bad('has bad percent-encoding');
    }
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) throw bad('has "." or ".." segments');
    const authority = folded === 'azure' ? `${url.username}@${url.hostname}` : url.hostname;
    const target = { scheme: folded, givenScheme: scheme!, bucket: folded === 'azure' ? decodeURIComponent(url.username) : url.hostname, authority, prefix, display };
    // The account host and container are checked as an artifact URI would be.
    try {
      destinationIn(target, 'probe.jar');
    } catch (error) {
      throw bad(`is not a valid target: ${(error as Error).message}`);
    }
    return target;
  }
  if (folded === 'file') {
    if (url.hostname !== '' && url.hostname !== 'localhost') throw bad('must not name a host');
    return { scheme: 'file', dir: fileURLToPath(url).replace(/\/+$/, '') || '/', display };
  }
  throw bad(scheme === undefined ? 'is not a URI' : `has an unsupported scheme "${scheme}"`);
}

/** The destination of a file named `fileName` in the target. */
export function destinationIn(target: UploadTarget, fileName: string): UploadDestination {
  let location: ArtifactLocation;
  let uri: string;
  if (target.scheme === 'file') {
    const path = `${target.dir === '/' ? '' : target.dir}/${fileName}`;
    location = { scheme: 'file', path };
    uri = pathToFileURL(path).href;
  } else {
    const key = `${target.prefix}${fileName}`;
    uri = `${target.givenScheme}://${target.authority}/${key.split('/').map(encodeURIComponent).join('/')}`;
    // One reading of URIs: the destination is what the fetcher will parse it as.
    location = parseArtifactUri(uri).location;
  }
  return { location, uri, display: redactUri(uri) };
}

/** The target itself, as the prefix (or directory) that a driver's `list` takes. */
export function targetPrefixRef(target: UploadTarget): ObjectRef {
  if (target.scheme === 'file') return { location: { scheme: 'file', path: target.dir }, display: target.display };
  const { location } = destinationIn(target, 'probe.jar');
  return { location: { ...location, key: target.prefix } as ArtifactLocation, display: target.display };
}
