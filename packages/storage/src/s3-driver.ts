import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  InvalidUriError,
  TransferError,
  redactSecrets,
  type Checksums,
  type NotModified,
  type ObjectRef,
  type ReadOptions,
  type ReadResult,
  type RemoteObject,
  type S3Settings,
  type StatOptions,
  type StorageDriver,
} from '@flink-artifacts/core';
import { errorText } from './errors.ts';

/** Options of {@link createS3Driver}. */
export interface S3DriverOptions {
  /** Flink's S3 settings; unset fields fall back to the AWS SDK's defaults and environment. */
  readonly settings: S3Settings;
  /** Sockets per host: at least the transfer concurrency. @default 64 */
  readonly maxSockets?: number;
  /** Environment for the region fallback. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The parts of an S3 driver that the upload side reuses. */
export interface S3DriverInternals {
  readonly client: S3Client;
  /** Maps an SDK error to a typed error that names `display`. */
  toError(error: unknown, display: string, action: string): Error;
}

/** The metadata key (x-amz-meta-sha256) our uploads store the content's SHA-256 under. */
export const S3_SHA256_METADATA_KEY = 'sha256';

/**
 * A driver for `s3://` (and `s3a://`, `s3p://`) objects on AWS S3 or any S3-compatible store.
 * Path-style addressing is used when `s3.path.style.access` says so, and always for endpoints
 * given as an IP address or `localhost` (virtual-hosted buckets cannot resolve there).
 */
export function createS3Driver(options: S3DriverOptions): StorageDriver & S3DriverInternals {
  const { settings } = options;
  const env = options.env ?? process.env;
  const endpoint = normalizeEndpoint(settings.endpoint);
  const forcePathStyle = settings.pathStyleAccess ?? (endpoint !== undefined && isIpOrLocalhost(endpoint));
  const secrets = [settings.accessKey, settings.secretKey].filter((s): s is string => s !== undefined);
  const maxSockets = options.maxSockets ?? 64;

  const client = new S3Client({
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
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
      connectionTimeout: 10_000,
    },
  });

  function toError(error: unknown, display: string, action: string): Error {
    const status = statusOf(error);
    const name = error instanceof S3ServiceException ? error.name : undefined;
    const detail = redactSecrets(errorText(error), secrets);
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
      const what = name === 'NoSuchBucket' ? 'bucket does not exist' : 'object does not exist';
      return new ArtifactNotFoundError(`${display}: ${what}`, { cause: error });
    }
    if (status === 401 || status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      return new AccessDeniedError(`${display}: access denied by S3 (${name ?? status})`, {
        cause: error,
        hint: 'check s3.access-key/s3.secret-key or the AWS credentials the SDK finds, and the bucket policy',
      });
    }
    const where = endpoint === undefined ? '' : ` at ${endpoint}`;
    return new TransferError(`${display}: ${action} failed${where}: ${detail}`, { cause: error });
  }

  function requireS3(ref: ObjectRef): { Bucket: string; Key: string } {
    if (ref.location.scheme !== 's3') throw new InvalidUriError(`the S3 driver cannot read ${ref.display}`);
    return { Bucket: ref.location.bucket, Key: ref.location.key };
  }

  return {
    name: 's3',
    client,
    toError,

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
      try {
        output = await client.send(
          new GetObjectCommand({ ...requireS3(ref), ...(readOptions.unlessVersion ? { IfNoneMatch: readOptions.unlessVersion } : {}) }),
          { abortSignal: readOptions.signal },
        );
      } catch (error) {
        if (statusOf(error) === 304) return { notModified: true };
        throw toError(error, ref.display, 'GET');
      }
      const body = output.Body as Readable | undefined;
      if (body === undefined) throw new TransferError(`${ref.display}: S3 returned no body`);
      return { notModified: false, body, object: describeObject(output) };
    },

    async close() {
      client.destroy();
    },
  };
}

function describeObject(output: HeadObjectCommandOutput | GetObjectCommandOutput): RemoteObject {
  const checksums: Checksums = {};
  const etag = output.ETag?.replaceAll('"', '');
  // A plain 32-hex ETag is the MD5 of the content, except for multipart uploads ("-N" suffix)
  // and objects encrypted with KMS or customer keys, whose ETags are opaque.
  const encrypted = output.ServerSideEncryption === 'aws:kms' || output.ServerSideEncryption === 'aws:kms:dsse' || output.SSECustomerAlgorithm !== undefined;
  if (etag !== undefined && /^[0-9a-f]{32}$/i.test(etag) && !encrypted) checksums.md5 = etag.toLowerCase();
  const sha256 = output.Metadata?.[S3_SHA256_METADATA_KEY];
  if (sha256 !== undefined && /^[0-9a-f]{64}$/i.test(sha256)) checksums.sha256 = sha256.toLowerCase();
  return { size: output.ContentLength, checksums, version: output.ETag };
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
