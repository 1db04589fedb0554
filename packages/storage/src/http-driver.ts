import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import got, { type Response } from 'got';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  DEFAULT_SOURCE_POLICY,
  InvalidUriError,
  ObjectChangedError,
  RawHttpDisabledError,
  SourceRefusedError,
  checkAddress,
  checkHost,
  isFlinkArtifactsError,
  TransferError,
  base64ToHex,
  redactSecrets,
  redactUri,
  type Checksums,
  type NotModified,
  type ObjectRef,
  type ReadOptions,
  type ReadResult,
  type RemoteObject,
  type StatOptions,
  type SourcePolicy,
  type StorageDriver,
} from '@flink-artifacts/core';
import { errorText, oneLine, tlsProblem } from './errors.ts';

/** Options of {@link createHttpDriver}. */
export interface HttpDriverOptions {
  /** `user.artifacts.http-headers`: sent with every request. Values are treated as secrets. */
  readonly headers?: Readonly<Record<string, string>>;
  /** `user.artifacts.raw-http-enabled`: whether plain http:// (also as a redirect target) is allowed. @default false */
  readonly rawHttpEnabled?: boolean;
  /** Extra trusted CA certificates (PEM), in addition to Node's and NODE_EXTRA_CA_CERTS. */
  readonly ca?: string | Buffer | undefined;
  /** Sockets per host: at least the transfer concurrency. @default 64 */
  readonly maxSockets?: number;
  /** Redirects followed at most. @default 10 */
  readonly maxRedirects?: number;
  /** Time to connect and get response headers. @default 15 s */
  readonly connectTimeoutMs?: number;
  /** Where requests may go, redirects and DNS answers included. @default everything but link-local and metadata addresses */
  readonly policy?: SourcePolicy;
  /** Resolves host names (tests map names to addresses with it). @default dns.lookup */
  readonly lookup?: LookupFunction;
}

// A version made from Last-Modified rather than an ETag, so the conditional request knows
// which header to send.
const LAST_MODIFIED_PREFIX = 'last-modified:';

/**
 * A driver for `http://` and `https://` artifacts. Sends the configured headers to the URI's
 * origin only, follows a bounded number of redirects but never from https to http, asks for the identity encoding so
 * the bytes on disk are the bytes served, and reads checksums a server states (Content-MD5,
 * GCS's x-goog-hash).
 */
export function createHttpDriver(options: HttpDriverOptions = {}): StorageDriver {
  const headers = { ...options.headers };
  const secrets = Object.values(headers);
  const maxSockets = options.maxSockets ?? 64;
  const connectTimeout = options.connectTimeoutMs ?? 15_000;
  const agent = {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    // A given CA is added to Node's own, not instead of them.
    https: new HttpsAgent({ keepAlive: true, maxSockets, ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString()] }) }),
  };
  const policy = options.policy ?? DEFAULT_SOURCE_POLICY;
  const client = got.extend({
    agent,
    // Every connection's addresses pass the policy: a name may resolve to a metadata address.
    dnsLookup: guardedLookup(options.lookup ?? dnsLookup, policy),
    headers: { 'user-agent': 'flink-artifacts', ...headers },
    // No Accept-Encoding: the server sends the stored bytes, which is what checksums describe.
    decompress: false,
    followRedirect: true,
    maxRedirects: options.maxRedirects ?? 10,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { connect: connectTimeout, secureConnect: connectTimeout, response: connectTimeout },
    ...(options.ca === undefined ? {} : { https: { certificateAuthority: [...rootCertificates, options.ca.toString()] } }),
    hooks: {
      beforeRedirect: [
        (redirectOptions, response) => {
          const from = response.url;
          const to = redirectOptions.url instanceof URL ? redirectOptions.url : new URL(String(redirectOptions.url));
          // A redirect may point anywhere: it passes the same policy as the URI did.
          const scheme = to.protocol.replace(/:$/, '');
          if (policy.allowedSchemes !== undefined && !policy.allowedSchemes.has(scheme)) {
            throw new SourceRefusedError(`${redactUri(from)} redirects to ${redactUri(to.href)}: scheme ${scheme} is not allowed`);
          }
          checkHost(to.hostname, policy, `${redactUri(from)} redirects to ${redactUri(to.href)}`);
          if (to.protocol === 'http:' && from.startsWith('https:')) {
            throw new TransferError(`${redactUri(from)} redirects from https to http (${redactUri(to.href)}); refused`);
          }
          if (to.protocol === 'http:' && options.rawHttpEnabled !== true) {
            throw new RawHttpDisabledError(`${redactUri(from)} redirects to plain http (${redactUri(to.href)})`, {
              hint: 'set user.artifacts.raw-http-enabled=true to allow unencrypted HTTP',
            });
          }
          // The configured headers (API keys, tokens) are for the URI's origin: a redirect
          // elsewhere (a CDN, blob storage, an open redirect) gets none of them. got itself only
          // drops Authorization and Cookie.
          if (to.origin !== response.requestUrl.origin) {
            const configured = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
            for (const name of Object.keys(redirectOptions.headers)) {
              if (configured.has(name.toLowerCase())) delete redirectOptions.headers[name];
            }
          }
        },
      ],
    },
  });

  function requireHttp(ref: ObjectRef): string {
    if (ref.location.scheme !== 'http' && ref.location.scheme !== 'https') {
      throw new InvalidUriError(`the HTTP driver cannot read ${ref.display}`);
    }
    if (ref.location.scheme === 'http' && options.rawHttpEnabled !== true) {
      throw new RawHttpDisabledError(`plain http is disabled: ${ref.display}`, {
        hint: 'set user.artifacts.raw-http-enabled=true to allow unencrypted HTTP',
      });
    }
    return ref.location.url;
  }

  function failure(error: unknown, display: string): Error {
    if (isFlinkArtifactsError(error)) return error;
    const cause: unknown = (error as { cause?: unknown }).cause;
    if (isFlinkArtifactsError(cause)) return cause;
    const code = (error as NodeJS.ErrnoException).code;
    const tls = tlsProblem(error);
    // A TLS failure (an untrusted certificate, an http server behind https) or a redirect loop
    // stays so; the network may come back.
    const permanent = tls !== undefined || code === 'ERR_TOO_MANY_REDIRECTS';
    return new TransferError(`${display}: ${oneLine(redactSecrets(errorText(error), secrets))}`, {
      cause: error,
      retryable: !permanent,
      ...(tls === undefined ? {} : { hint: tls.hint }),
    });
  }

  function statusError(response: Response | { statusCode: number; statusMessage?: string | undefined }, display: string): Error {
    const status = response.statusCode;
    // A server may echo a request header (a token) in its status text.
    const statusText = redactSecrets(response.statusMessage ?? '', secrets);
    if (status === 404 || status === 410) return new ArtifactNotFoundError(`${display}: HTTP ${status}, no such file`);
    if (status === 401 || status === 403) {
      return new AccessDeniedError(`${display}: HTTP ${status} ${statusText}`.trimEnd(), {
        hint: 'check user.artifacts.http-headers (e.g. Authorization) and the server\'s access rules',
      });
    }
    return new TransferError(`${display}: HTTP ${status} ${statusText}`.trimEnd(), { retryable: status >= 500 || status === 429 || status === 408 });
  }

  return {
    name: 'http',

    async stat(ref: ObjectRef, statOptions: StatOptions = {}): Promise<RemoteObject | undefined> {
      const url = requireHttp(ref);
      let response: Response;
      try {
        response = await client.head(url, { signal: statOptions.signal });
      } catch (error) {
        throw failure(error, ref.display);
      }
      if (response.statusCode === 404 || response.statusCode === 410) return undefined;
      if (response.statusCode >= 300) throw statusError(response, ref.display);
      return describeResponse(response.headers);
    },

    async read(ref: ObjectRef, readOptions: ReadOptions = {}): Promise<ReadResult | NotModified> {
      const url = requireHttp(ref);
      const conditional: Record<string, string> = {};
      const version = readOptions.unlessVersion;
      if (version?.startsWith(LAST_MODIFIED_PREFIX)) conditional['if-modified-since'] = version.slice(LAST_MODIFIED_PREFIX.length);
      else if (version !== undefined) conditional['if-none-match'] = version;
      const start = readOptions.start ?? 0;
      if ((start > 0 || readOptions.end !== undefined) && readOptions.ifMatch !== undefined) {
        // If-Range: the range if the object is unchanged, the whole object (200) otherwise.
        conditional.range = `bytes=${start}-${readOptions.end ?? ''}`;
        conditional['if-range'] = readOptions.ifMatch.startsWith(LAST_MODIFIED_PREFIX) ? readOptions.ifMatch.slice(LAST_MODIFIED_PREFIX.length) : readOptions.ifMatch;
      }

      const stream = client.stream(url, { headers: conditional, signal: readOptions.signal });
      let response: Response;
      try {
        response = await new Promise<Response>((resolve, reject) => {
          stream.once('response', resolve);
          stream.once('error', reject);
        });
      } catch (error) {
        stream.destroy();
        throw failure(error, ref.display);
      }
      if (response.statusCode === 304 && version !== undefined) {
        stream.destroy();
        return { notModified: true };
      }
      if (response.statusCode === 206 && conditional.range !== undefined) {
        // A server that ignores If-Range serves the range of whatever it has now: the rest of
        // another version, spliced onto our bytes. Only a range of the version we pinned is taken.
        const served = describeResponse(response.headers).version;
        if (served !== readOptions.ifMatch) {
          stream.destroy();
          throw new ObjectChangedError(`${ref.display} changed since the transfer began (${served === undefined ? 'the range came without a validator' : 'the range is of another version'})`);
        }
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
        if (range !== null && Number(range[1]) !== start) {
          // Bytes from another offset than asked: appended or written at ours, they would corrupt the file.
          stream.destroy();
          throw new ObjectChangedError(`${ref.display}: asked for bytes from ${start}, the server sent them from ${range[1]}`);
        }
        const total = range?.[3] === undefined || range[3] === '*' ? undefined : Number(range[3]);
        const end = range?.[2] === undefined ? undefined : Number(range[2]);
        return { notModified: false, body: bodyOf(response, stream), object: { size: total, checksums: {}, version: readOptions.ifMatch }, start, end };
      }
      if (response.statusCode !== 200) {
        stream.destroy();
        throw statusError(response, ref.display);
      }
      // The whole object, also when a range was asked for (changed version, or no range support).
      const object = describeResponse(response.headers);
      return { notModified: false, body: bodyOf(response, stream), object, start: 0, end: object.size === undefined ? undefined : object.size - 1 };
    },

    async close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

/**
 * A resolver whose answers pass the source policy: a host name that resolves to a link-local or
 * metadata address is refused before any connection is made.
 */
function guardedLookup(lookup: LookupFunction, policy: SourcePolicy): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      try {
        for (const entry of Array.isArray(address) ? address : [{ address, family }]) checkAddress(entry.address, policy, `${hostname} (resolved to ${entry.address})`);
      } catch (refused) {
        return callback(refused as Error, address, family);
      }
      callback(null, address, family);
    });
  }) as LookupFunction;
}

/**
 * The response body to stream to disk. got's own stream pulls the body one chunk at a time
 * with a zero high-water mark and a progress object per chunk: measured at about 1 s of CPU
 * per GiB more than the underlying response (bench/RESULTS.md). got has done its part
 * (redirects, headers, timeouts up to the response); the body is read from the response
 * directly, and got's stream, never read, is destroyed with it.
 */
function bodyOf(response: Response, stream: Readable & { destroy(error?: Error): unknown }): Readable {
  const raw = response as unknown as Readable;
  // got attached a 'readable' listener to pull for its stream; with it in place the response
  // cannot flow into a pipe.
  raw.removeAllListeners('readable');
  raw.once('close', () => stream.destroy());
  return raw;
}

function describeResponse(headers: IncomingHttpHeaders): RemoteObject {
  const encoding = headers['content-encoding'];
  const identity = encoding === undefined || encoding === 'identity';
  const checksums: Checksums = {};
  if (identity) {
    const contentMd5 = headers['content-md5'];
    if (typeof contentMd5 === 'string') checksums.md5 = base64ToHex(contentMd5);
    // GCS (and proxies in front of it) state both hashes, base64, in one header.
    const googHash = headers['x-goog-hash'];
    for (const part of (Array.isArray(googHash) ? googHash.join(',') : (googHash ?? '')).split(',')) {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq).trim();
      if (name === 'md5' || name === 'crc32c') checksums[name] = base64ToHex(part.slice(eq + 1).trim());
    }
  }
  const length = headers['content-length'];
  const size = identity && length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  const etag = headers.etag;
  const lastModified = headers['last-modified'];
  const version = etag ?? (lastModified === undefined ? undefined : `${LAST_MODIFIED_PREFIX}${lastModified}`);
  // Ranges pinned with If-Range need the server's word that it serves them, and a strong
  // validator (a weak ETag may not be used in If-Range).
  const acceptsRanges = identity && headers['accept-ranges'] === 'bytes' && version !== undefined && !version.startsWith('W/');
  return { size, checksums, version, acceptsRanges };
}
