import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  ConfigError,
  InvalidUriError,
  ObjectChangedError,
  ObjectExistsError,
  TransferError,
  hexToBase64,
  redactSecrets,
  redactUri,
  type Checksums,
  type NotModified,
  type ObjectRef,
  type ReadOptions,
  type ReadResult,
  type RemoteObject,
  type S3Settings,
  type StatOptions,
  type StorageDriver,
  type UploadSource,
  type WriteOptions,
} from '@flink-artifacts/core';
import { errorText, oneLine, tlsProblem } from './errors.ts';
import { contentTypeFor } from './meter.ts';
import { FINAL_STEP_TIMEOUT_MS, uploadBodies, uploadParts } from './upload-parts.ts';

/** Options of {@link createS3Driver}. */
export interface S3DriverOptions {
  /** Flink's S3 settings; unset fields fall back to the AWS SDK's defaults and environment. */
  readonly settings: S3Settings;
  /** Sockets per host: at least the transfer concurrency. @default 64 */
  readonly maxSockets?: number;
  /** Environment for the region fallback. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Objects larger than this are uploaded in parts. @default 64 MiB */
  readonly multipartThreshold?: number;
  /** Part size for multipart uploads (raised when a file would need more than 10,000 parts). @default 16 MiB */
  readonly partSize?: number;
  /** Parts of one object uploaded at once. @default 4 */
  readonly partConcurrency?: number;
  /** Time to connect. @default 15 s */
  readonly connectTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM), added to Node's. */
  readonly ca?: string | Buffer | undefined;
  /**
   * The store behind the S3 API: `s3` (AWS and S3-compatible stores, `s3://`), or `oss` (Alibaba
   * Cloud OSS through its S3-compatible API, `oss://`, with Flink's `fs.oss.*` keys). @default 's3'
   */
  readonly dialect?: S3Dialect;
}

/** What differs between the stores the S3 driver speaks to. */
export type S3Dialect = 's3' | 'oss';

const DIALECTS = {
  s3: {
    label: 'S3',
    noCredentials: "set s3.access-key and s3.secret-key, or give the SDK's chain credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, IRSA, pod identity, an instance profile)",
    denied: 'check s3.access-key/s3.secret-key or the AWS credentials the SDK finds, and the bucket policy',
  },
  oss: {
    label: 'OSS',
    noCredentials: 'set fs.oss.accessKeyId and fs.oss.accessKeySecret (or OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET)',
    denied: 'check fs.oss.accessKeyId/fs.oss.accessKeySecret, fs.oss.endpoint (the bucket\'s region) and the bucket policy',
  },
} as const;

const MIB = 1024 * 1024;
const MAX_PARTS = 10_000;

/** The metadata key (x-amz-meta-sha256) our uploads store the content's SHA-256 under. */
export const S3_SHA256_METADATA_KEY = 'sha256';

/**
 * A driver for `s3://` (and `s3a://`, `s3p://`) objects on AWS S3 or any S3-compatible store.
 * Path-style addressing is used when `s3.path.style.access` says so, and always for endpoints
 * given as an IP address or `localhost` (virtual-hosted buckets cannot resolve there).
 */
export function createS3Driver(options: S3DriverOptions): StorageDriver {
  const { settings } = options;
  const scheme = options.dialect ?? 's3';
  const dialect = DIALECTS[scheme];
  if (scheme === 'oss' && settings.endpoint === undefined) {
    // Without an endpoint the SDK would send the request, and the credentials, to AWS.
    throw new ConfigError('oss:// needs fs.oss.endpoint (for example oss-cn-hangzhou.aliyuncs.com)', { key: 'fs.oss.endpoint' });
  }
  if (scheme === 'oss' && (settings.accessKey === undefined || settings.secretKey === undefined)) {
    // The AWS SDK's credential chain knows nothing of Alibaba Cloud: it would probe AWS's.
    throw new AccessDeniedError('oss:// needs credentials: no OSS access key is set', { hint: dialect.noCredentials });
  }
  const env = options.env ?? process.env;
  const endpoint = normalizeEndpoint(settings.endpoint);
  const forcePathStyle = settings.pathStyleAccess ?? (endpoint !== undefined && isIpOrLocalhost(endpoint));
  const secrets = [settings.accessKey, settings.secretKey].filter((s): s is string => s !== undefined);
  const maxSockets = options.maxSockets ?? 64;
  const multipartThreshold = options.multipartThreshold ?? 64 * MIB;
  const partSize = options.partSize ?? 16 * MIB;
  const partConcurrency = options.partConcurrency ?? 4;

  const client = withoutNodeVersionWarning(() => new S3Client({
    region: settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle,
    followRegionRedirects: true,
    ...(settings.accessKey !== undefined && settings.secretKey !== undefined
      ? { credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey } }
      : {}),
    // The SDK's default (a CRC trailer on every streamed upload, aws-chunked encoding) is not
    // understood by many S3-compatible stores (RGW answers 411); we verify content ourselves.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    logger: sdkLogger,
    // One attempt per request: retries belong to the transfer layer, which logs each, resumes
    // downloads and keeps one deadline per artifact.
    maxAttempts: 1,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets, ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString()] }) },
      connectionTimeout: options.connectTimeoutMs ?? 15_000,
    },
  }));

  /**
   * The one mapping of S3's answers to typed errors. A failed precondition (412) means what the
   * request's condition was about: `preconditionFailed` says it (a changed object for a pinned
   * read, a taken name for a create-only write).
   */
  function toError(error: unknown, display: string, action: string, preconditionFailed?: () => Error): Error {
    const status = statusOf(error);
    const name = error instanceof S3ServiceException ? error.name : undefined;
    const detail = oneLine(redactSecrets(errorText(error), secrets));
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
      const what = name === 'NoSuchBucket' ? 'bucket does not exist' : 'object does not exist';
      return new ArtifactNotFoundError(`${display}: ${what}`, { cause: error });
    }
    if (refusedCreate(error) && preconditionFailed !== undefined) return preconditionFailed();
    // No credentials anywhere in the SDK's chain: no request was sent, and none will succeed.
    if ((error as Error | undefined)?.name === 'CredentialsProviderError') {
      return new AccessDeniedError(`${display}: no AWS credentials found`, { cause: error, hint: dialect.noCredentials });
    }
    if (status === 401 || status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      return new AccessDeniedError(`${display}: access denied by ${dialect.label} (${name ?? status})`, { cause: error, hint: dialect.denied });
    }
    // An endpoint may carry user info or a query: shown as any URI is.
    const where = endpoint === undefined ? '' : ` at ${redactUri(endpoint)}`;
    // No status: the request never got an answer (refused, reset, timed out), unless TLS
    // itself failed, which stays so.
    const tls = status === undefined ? tlsProblem(error) : undefined;
    const retryable = tls === undefined && (status === undefined || status >= 500 || status === 429 || status === 408 || TRANSIENT_S3_CODES.has(name ?? ''));
    return new TransferError(`${display}: ${action} failed${where}${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`, { cause: error, retryable, ...(tls === undefined ? {} : { hint: tls.hint }) });
  }

  if (scheme === 'oss') {
    // OSS's create-only switch is its own header; If-None-Match stays for stores that know it.
    client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers?: Record<string, string> }).headers;
        if (headers !== undefined && Object.entries(headers).some(([name, value]) => name.toLowerCase() === 'if-none-match' && value === '*')) {
          headers['x-oss-forbid-overwrite'] = 'true';
        }
        return next(args);
      },
      { step: 'build', name: 'ossForbidOverwrite' },
    );
  }

  function requireS3Prefix(ref: ObjectRef): { Bucket: string; Key: string } {
    if (ref.location.scheme !== scheme) throw new InvalidUriError(`the ${dialect.label} driver cannot list ${ref.display}`);
    return { Bucket: ref.location.bucket, Key: ref.location.key };
  }

  function requireS3(ref: ObjectRef): { Bucket: string; Key: string } {
    if (ref.location.scheme !== scheme) throw new InvalidUriError(`the ${dialect.label} driver cannot read ${ref.display}`);
    return { Bucket: ref.location.bucket, Key: ref.location.key };
  }

  const exists = (display: string) => (): Error => new ObjectExistsError(`${display}: an object of that name already exists`);

  return {
    name: scheme,

    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    async stat(ref: ObjectRef, statOptions: StatOptions = {}): Promise<RemoteObject | undefined> {
      try {
        const head = await client.send(new HeadObjectCommand(requireS3(ref)), { abortSignal: statOptions.signal });
        return describeObject(head);
      } catch (error) {
        const typed = toError(error, ref.display, 'HEAD');
        if (typed instanceof ArtifactNotFoundError) return undefined;
        throw typed;
      }
    },

    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    async read(ref: ObjectRef, readOptions: ReadOptions = {}): Promise<ReadResult | NotModified> {
      let output: GetObjectCommandOutput;
      const start = readOptions.start ?? 0;
      try {
        output = await client.send(
          new GetObjectCommand({
            ...requireS3(ref),
            ...(readOptions.unlessVersion ? { IfNoneMatch: readOptions.unlessVersion } : {}),
            ...(start > 0 || readOptions.end !== undefined ? { Range: `bytes=${start}-${readOptions.end ?? ''}` } : {}),
            ...(readOptions.ifMatch ? { IfMatch: readOptions.ifMatch } : {}),
          }),
          { abortSignal: readOptions.signal },
        );
      } catch (error) {
        if (statusOf(error) === 304) return { notModified: true };
        throw toError(error, ref.display, start > 0 || readOptions.end !== undefined ? 'ranged GET' : 'GET', () => new ObjectChangedError(`${ref.display} changed since the transfer began`, { cause: error }));
      }
      const body = output.Body as Readable | undefined;
      if (body === undefined) throw new TransferError(`${ref.display}: S3 returned no body`, { retryable: true });
      const object = describeObject(output);
      // A ranged answer's Content-Length is the part's; the object's size is after the slash.
      const total = /\/(\d+)$/.exec(output.ContentRange ?? '')?.[1];
      return { notModified: false, body, object: total === undefined ? object : { ...object, size: Number(total) }, start: output.ContentRange ? start : 0 };
    },

    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    async list(prefix: ObjectRef, listOptions: StatOptions = {}): Promise<Map<string, RemoteObject>> {
      const { Bucket, Key } = requireS3Prefix(prefix);
      const objects = new Map<string, RemoteObject>();
      let token: string | undefined;
      try {
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: Key, ...(token ? { ContinuationToken: token } : {}) }), {
            abortSignal: listOptions.signal,
          });
          for (const item of page.Contents ?? []) {
            if (item.Key !== undefined) objects.set(item.Key, describeObject({ ETag: item.ETag, ContentLength: item.Size, $metadata: {} }));
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (error) {
        throw toError(error, prefix.display, 'LIST');
      }
      return objects;
    },

    // Multipart objects have no whole-object MD5: hashing one would only cost time.
    writeChecksums: (size: number) => (size > multipartThreshold ? ['sha256'] : ['sha256', 'md5']),

    async write(ref: ObjectRef, source: UploadSource, writeOptions: WriteOptions): Promise<RemoteObject> {
      const target = requireS3(ref);
      const { checksums } = writeOptions;
      const common = {
        ...target,
        ContentType: contentTypeFor(target.Key),
        ...(checksums.sha256 === undefined ? {} : { Metadata: { [S3_SHA256_METADATA_KEY]: checksums.sha256 } }),
      };
      const { body, signal, reportable } = uploadBodies(source, writeOptions);
      try {
        if (source.size > multipartThreshold) return await uploadMultipart(ref, common, source.size, body, { ...writeOptions, signal });
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
        // One streamed request; Content-MD5 makes the store verify the bytes it received.
        const output = await client.send(
          new PutObjectCommand({
            ...common,
            Body: body(),
            ContentLength: source.size,
            ...(checksums.md5 === undefined ? {} : { ContentMD5: hexToBase64(checksums.md5) }),
            ...(writeOptions.ifAbsent ? { IfNoneMatch: '*' } : {}),
          }),
          { abortSignal: signal },
        );
        return { size: source.size, checksums: { ...checksums }, version: output.ETag };
      } catch (error) {
        const reported = reportable(error, ref.display);
        throw reported instanceof ObjectExistsError || reported instanceof TransferError ? reported : toError(reported, ref.display, 'upload', exists(ref.display));
      }
    },

    async close() {
      client.destroy();
    },
  };

  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
  // Parts are read straight from the source by range, so memory stays at a few stream buffers
  // whatever the file size; a failed part is sent again alone; on any failure the upload is
  // aborted and nothing is published.
  async function uploadMultipart(
    ref: ObjectRef,
    common: { Bucket: string; Key: string; ContentType: string; Metadata?: Record<string, string> },
    total: number,
    body: (range: { start: number; end: number }) => Readable,
    writeOptions: WriteOptions,
  ): Promise<RemoteObject> {
    const { Bucket, Key } = common;
    const signal = writeOptions.signal;
    const lease = writeOptions.ifAbsent ? await acquireLease(ref, common, signal) : undefined;
    let uploadId: string | undefined;
    try {
      const created = await client.send(new CreateMultipartUploadCommand(common), { abortSignal: signal });
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new TransferError(`${ref.display}: S3 returned no upload id`);
      const parts: CompletedPart[] = await uploadParts({
        display: ref.display,
        noun: 'part',
        total,
        partSize: Math.max(partSize, Math.ceil(total / MAX_PARTS)),
        concurrency: partConcurrency,
        retryPart: writeOptions.retryPart,
        signal,
        send: async (index, range, partSignal) => {
          const output = await client.send(
            new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber: index + 1, Body: body(range), ContentLength: range.end - range.start + 1 }),
            { abortSignal: partSignal },
          );
          return { PartNumber: index + 1, ETag: output.ETag };
        },
        toError: (error, what) => toError(error, what, 'upload'),
      });
      // The last step is not cut short by an abort (SIGTERM): once asked, the store may complete
      // it anyway, and an upload reported aborted must be gone. It finishes, bounded on its own,
      // and is reported as done.
      signal?.throwIfAborted();
      const completed = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(writeOptions.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
        { abortSignal: AbortSignal.timeout(FINAL_STEP_TIMEOUT_MS) },
      );
      uploadId = undefined;
      return { size: total, checksums: { ...writeOptions.checksums }, version: completed.ETag };
    } catch (error) {
      if (uploadId !== undefined) {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
      }
      throw error instanceof ObjectExistsError || error instanceof TransferError ? error : toError(error, ref.display, 'multipart upload', exists(ref.display));
    } finally {
      await lease?.release();
    }
  }

  /**
   * A create-only multipart upload holds a lease on its name: a small object beside it, created
   * with a single PUT and If-None-Match (which S3-compatible stores honour on PutObject, while
   * some, RGW 16 among them, ignore it on CompleteMultipartUpload). Only the holder uploads;
   * a second creator gets ObjectExistsError at once, as it would on AWS. A holder that dies
   * stops refreshing its lease, which others may then break.
   *
   * @throws ObjectExistsError when the name is taken or another client holds a live lease.
   */
  async function acquireLease(ref: ObjectRef, common: { Bucket: string; Key: string }, signal: AbortSignal | undefined): Promise<{ release(): Promise<void> }> {
    const { Bucket } = common;
    const Key = `${common.Key}${LEASE_SUFFIX}`;
    const put = (ifAbsent: boolean): Promise<unknown> => {
      const body = JSON.stringify({ owner: LEASE_OWNER, expires: Date.now() + LEASE_TTL_MS });
      return client.send(new PutObjectCommand({ Bucket, Key, Body: body, ContentLength: Buffer.byteLength(body), ContentType: 'application/json', ...(ifAbsent ? { IfNoneMatch: '*' } : {}) }), { abortSignal: signal });
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await put(true);
        break;
      } catch (error) {
        if (!refusedCreate(error)) throw toError(error, ref.display, 'lease');
        const expires = await leaseExpiry(Bucket, Key, signal);
        if (attempt === 0 && expires < Date.now()) {
          // Its holder stopped refreshing it: break it, and try once more.
          await client.send(new DeleteObjectCommand({ Bucket, Key }), { abortSignal: signal }).catch(() => undefined);
          continue;
        }
        throw new ObjectExistsError(`${ref.display}: another client is creating an object of that name right now`, { cause: error });
      }
    }
    const refresh = setInterval(() => void put(false).catch(() => undefined), LEASE_TTL_MS / 4);
    refresh.unref();
    const release = async (): Promise<void> => {
      clearInterval(refresh);
      await client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => undefined);
    };
    try {
      // The name may already be taken by an object created before the lease (or by a writer
      // that does not take leases): then there is nothing to create.
      const existing = await client.send(new HeadObjectCommand(common), { abortSignal: signal }).catch((error: unknown) => {
        if (toError(error, ref.display, 'HEAD') instanceof ArtifactNotFoundError) return undefined;
        throw toError(error, ref.display, 'HEAD');
      });
      if (existing !== undefined) throw new ObjectExistsError(`${ref.display}: an object of that name already exists`);
    } catch (error) {
      await release();
      throw error;
    }
    return { release };
  }

  /** When a lease lapses (0 for one that is gone or unreadable: a broken lease is a dead one). */
  async function leaseExpiry(Bucket: string, Key: string, signal: AbortSignal | undefined): Promise<number> {
    try {
      const output = await client.send(new GetObjectCommand({ Bucket, Key }), { abortSignal: signal });
      const parsed = JSON.parse((await output.Body?.transformToString()) ?? '{}') as { expires?: unknown };
      return typeof parsed.expires === 'number' ? parsed.expires : 0;
    } catch {
      return 0;
    }
  }
}

/** Suffix of the lease object beside a name being created by a multipart upload. */
export const LEASE_SUFFIX = '.flink-artifacts-lease';
/** A lease not refreshed for this long belongs to a dead client. */
const LEASE_TTL_MS = 2 * 60_000;
/** Who holds a lease: this process. */
const LEASE_OWNER = randomUUID();

/**
 * The AWS SDK warns, on the process's stderr, about the Node versions it will drop (a 2027
 * roadmap note) when the first client is created. That is not our caller's concern: a library
 * must not print into its caller's output. The SDK's own switch, set only around construction
 * (the SDK remembers that it has dealt with the warning).
 */
function withoutNodeVersionWarning<T>(create: () => T): T {
  const key = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const before = process.env[key];
  process.env[key] = 'true';
  try {
    return create();
  } finally {
    if (before === undefined) delete process.env[key];
    else process.env[key] = before;
  }
}

// Error codes S3 sends for conditions that pass.
const TRANSIENT_S3_CODES = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'OperationAborted']);

// The SDK warns on the console for every failed request with a streamed body (a 412 of a
// conditional create included) when given no logger, and logs every failed command (with its
// input) to a logger's `error`. Failures reach the caller as typed errors, so both are noise in
// init container logs. Other warnings pass.
const sdkLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('non-retryable streaming request')) return;
    console.warn(...args);
  },
  error: () => undefined,
};

function describeObject(output: HeadObjectCommandOutput | GetObjectCommandOutput): RemoteObject {
  const checksums: Checksums = {};
  const etag = output.ETag?.replaceAll('"', '');
  // A plain 32-hex ETag is the MD5 of the content, except for multipart uploads ("-N" suffix)
  // and objects encrypted with KMS or customer keys, whose ETags are opaque.
  const encrypted = output.ServerSideEncryption === 'aws:kms' || output.ServerSideEncryption === 'aws:kms:dsse' || output.SSECustomerAlgorithm !== undefined;
  if (etag !== undefined && /^[0-9a-f]{32}$/i.test(etag) && !encrypted) checksums.md5 = etag.toLowerCase();
  const sha256 = output.Metadata?.[S3_SHA256_METADATA_KEY];
  if (sha256 !== undefined && /^[0-9a-f]{64}$/i.test(sha256)) checksums.sha256 = sha256.toLowerCase();
  return { size: output.ContentLength, checksums, version: output.ETag, acceptsRanges: output.ETag !== undefined };
}

/**
 * A create-only write refused because the name is taken: 412 on S3 (If-None-Match), 409
 * FileAlreadyExists on OSS (x-oss-forbid-overwrite).
 */
function refusedCreate(error: unknown): boolean {
  const name = error instanceof S3ServiceException ? error.name : undefined;
  return statusOf(error) === 412 || name === 'PreconditionFailed' || (statusOf(error) === 409 && name === 'FileAlreadyExists');
}

function statusOf(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

// Hadoop-style endpoints may omit the scheme ("minio:9000"); Hadoop then uses HTTPS.
function normalizeEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}

function isIpOrLocalhost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}
