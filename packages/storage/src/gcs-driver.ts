import { pipeline } from 'node:stream/promises';
import { Storage, type File, type FileMetadata, type StorageOptions } from '@google-cloud/storage';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  InvalidUriError,
  ObjectChangedError,
  ObjectExistsError,
  TransferError,
  base64ToHex,
  hexToBase64,
  type Checksums,
  type NotModified,
  type ObjectRef,
  type ReadOptions,
  type ReadResult,
  type RemoteObject,
  type StatOptions,
  type StorageDriver,
  type UploadSource,
  type WriteOptions,
} from '@flink-artifacts/core';
import { errorText, httpStatusOf } from './errors.ts';
import { trustProcessWide } from './trust.ts';
import { byteMeter, contentTypeFor } from './meter.ts';

/** Options of {@link createGcsDriver}. */
export interface GcsDriverOptions {
  /**
   * JSON API endpoint, e.g. a test server. @default the library's own: storage.googleapis.com,
   * or `STORAGE_EMULATOR_HOST` when set.
   */
  readonly apiEndpoint?: string;
  /**
   * Project id for requests that need one. Object reads and writes do not; passing one keeps
   * the library from shelling out to `gcloud` to find it.
   * @default GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT, or "flink-artifacts"
   */
  readonly projectId?: string;
  /** Environment for the project fallback. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Objects larger than this use a resumable upload instead of one multipart request. @default 16 MiB */
  readonly resumableThreshold?: number;
  /**
   * Send credentials to a custom `apiEndpoint` too (a private endpoint or proxy in front of
   * GCS). The library sends none there by default, as for an emulator. @default false
   */
  readonly authenticate?: boolean;
  /**
   * Extra trusted CA certificates (PEM). The GCS library takes no per-client CA, so they are
   * added to the process's default CAs (Node 22.15 and later); on older Node, use
   * NODE_EXTRA_CA_CERTS.
   */
  readonly ca?: string | Buffer | undefined;
}

/** The custom metadata key our uploads store the content's SHA-256 under. */
export const GCS_SHA256_METADATA_KEY = 'sha256';

/**
 * A driver for `gs://` objects through `@google-cloud/storage`, with its default credentials
 * (GOOGLE_APPLICATION_CREDENTIALS, workload identity) and STORAGE_EMULATOR_HOST. Reads pin the
 * generation whose metadata was read, so the checksums verified belong to the bytes received.
 */
export function createGcsDriver(options: GcsDriverOptions = {}): StorageDriver {
  const env = options.env ?? process.env;
  if (options.ca !== undefined) trustProcessWide(options.ca, 'gs://');
  const resumableThreshold = options.resumableThreshold ?? 16 * 1024 * 1024;
  const storage = new Storage({
    projectId: options.projectId ?? env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? 'flink-artifacts',
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(options.authenticate === true ? { useAuthWithCustomEndpoint: true } : {}),
    // One attempt per request: retries belong to the transfer layer, which logs each, resumes
    // downloads and keeps one deadline per artifact.
    retryOptions: { autoRetry: false },
    // When a download stream fails or is destroyed (an abort, a stall, a reset), the library
    // destroys the request's agent (file.js, a node-fetch leak workaround); with its default
    // `forever` the agent is teeny-request's process-wide keep-alive pool, so one failed
    // download reset every other GCS request in flight. Without `forever` each request runs on
    // Node's own keep-alive agent, which the library leaves alone (as it does itself on Cloud
    // Functions).
    interceptors_: [
      {
        // The library types the argument loosely and the result strictly; it is the same object.
        request: (reqOpts) => Object.assign(reqOpts, { forever: false }) as unknown as ReturnType<NonNullable<NonNullable<StorageOptions['interceptors_']>[number]['request']>>,
      },
    ],
  });

  function fileOf(ref: ObjectRef, generation?: string): File {
    if (ref.location.scheme !== 'gs') throw new InvalidUriError(`the GCS driver cannot read ${ref.display}`);
    const bucket = storage.bucket(ref.location.bucket);
    return generation === undefined ? bucket.file(ref.location.key) : bucket.file(ref.location.key, { generation });
  }

  function toError(error: unknown, display: string, action: string): Error {
    const status = httpStatusOf(error);
    const detail = errorText(error);
    if (status === 404) {
      const what = /bucket/i.test(detail) ? 'bucket does not exist' : 'object does not exist';
      return new ArtifactNotFoundError(`${display}: ${what}`, { cause: error });
    }
    if (status === 412) return new ObjectExistsError(`${display}: an object of that name already exists`, { cause: error });
    if (status === 401 || status === 403) {
      return new AccessDeniedError(`${display}: access denied by GCS (${status})`, {
        cause: error,
        hint: 'check GOOGLE_APPLICATION_CREDENTIALS or the workload identity, and the bucket IAM policy',
      });
    }
    // google-auth-library found no credentials, or could not turn them into a token: an
    // answer no retry changes. Its errors carry neither a status nor a code.
    if (status === undefined && CREDENTIAL_FAILURE.test(detail)) {
      return new AccessDeniedError(`${display}: no usable GCS credentials (${detail.split('.')[0]})`, {
        cause: error,
        hint: 'set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or give the pod a workload identity',
      });
    }
    // No status: the request never got an answer (refused, reset, timed out).
    const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
    return new TransferError(`${display}: ${action} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`, { cause: error, retryable });
  }

  async function metadataOf(ref: ObjectRef, signal: AbortSignal | undefined): Promise<FileMetadata | undefined> {
    signal?.throwIfAborted();
    try {
      const [metadata] = await fileOf(ref).getMetadata();
      return metadata;
    } catch (error) {
      const typed = toError(error, ref.display, 'metadata request');
      if (typed instanceof ArtifactNotFoundError) return undefined;
      throw typed;
    }
  }

  return {
    name: 'gcs',

    // https://cloud.google.com/storage/docs/json_api/v1/objects/get
    async stat(ref: ObjectRef, statOptions: StatOptions = {}): Promise<RemoteObject | undefined> {
      const metadata = await metadataOf(ref, statOptions.signal);
      return metadata === undefined ? undefined : describeMetadata(metadata);
    },

    // https://cloud.google.com/storage/docs/json_api/v1/objects/get (alt=media)
    async read(ref: ObjectRef, readOptions: ReadOptions = {}): Promise<ReadResult | NotModified> {
      const metadata = await metadataOf(ref, readOptions.signal);
      if (metadata === undefined) throw new ArtifactNotFoundError(`${ref.display}: object does not exist`);
      const object = describeMetadata(metadata);
      if (readOptions.unlessVersion !== undefined && readOptions.unlessVersion === object.version) return { notModified: true };
      if (readOptions.ifMatch !== undefined && readOptions.ifMatch !== object.version) {
        throw new ObjectChangedError(`${ref.display} changed since the transfer began (new generation)`);
      }
      const generation = metadata.generation === undefined ? undefined : String(metadata.generation);
      const start = readOptions.start ?? 0;
      // Validation is ours (the fetcher checks md5/crc32c from the metadata); the library's
      // own would hash the bytes a second time.
      const body = fileOf(ref, generation).createReadStream({ validation: false, ...(start > 0 ? { start } : {}), ...(readOptions.end === undefined ? {} : { start, end: readOptions.end }) });
      const signal = readOptions.signal;
      if (signal !== undefined) {
        const abort = (): void => void body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        if (signal.aborted) abort();
        else signal.addEventListener('abort', abort, { once: true });
        body.once('close', () => signal.removeEventListener('abort', abort));
      }
      return { notModified: false, body, object, start };
    },

    // https://cloud.google.com/storage/docs/json_api/v1/objects/list (full metadata per object)
    async list(prefix: ObjectRef, listOptions: StatOptions = {}): Promise<Map<string, RemoteObject>> {
      if (prefix.location.scheme !== 'gs') throw new InvalidUriError(`the GCS driver cannot list ${prefix.display}`);
      listOptions.signal?.throwIfAborted();
      try {
        const [files] = await storage.bucket(prefix.location.bucket).getFiles({ prefix: prefix.location.key, autoPaginate: true });
        return new Map(files.map((file) => [file.name, describeMetadata(file.metadata)]));
      } catch (error) {
        throw toError(error, prefix.display, 'list');
      }
    },

    // https://cloud.google.com/storage/docs/uploads-downloads (multipart and resumable)
    async write(ref: ObjectRef, source: UploadSource, writeOptions: WriteOptions): Promise<RemoteObject> {
      const file = fileOf(ref);
      const { md5, sha256 } = writeOptions.checksums;
      const upload = file.createWriteStream({
        resumable: source.size > resumableThreshold,
        contentType: contentTypeFor(file.name),
        // The store verifies the stated MD5 itself; the library's check would hash everything again.
        validation: false,
        metadata: {
          ...(md5 === undefined ? {} : { md5Hash: hexToBase64(md5) }),
          ...(sha256 === undefined ? {} : { metadata: { [GCS_SHA256_METADATA_KEY]: sha256 } }),
        },
        ...(writeOptions.ifAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
      try {
        await pipeline(source.open(), byteMeter(writeOptions.onBytes), upload, ...(writeOptions.signal ? [{ signal: writeOptions.signal }] : []));
      } catch (error) {
        throw toError(error, ref.display, 'upload');
      }
      return describeMetadata(file.metadata);
    },
  };
}

// What google-auth-library says when it has no credentials or they are refused by the token service.
const CREDENTIAL_FAILURE = /could not load the default credentials|could not refresh access token|invalid_grant|unauthorized_client|invalid_client|no access, refresh token|error getting access token/i;

function describeMetadata(metadata: FileMetadata): RemoteObject {
  const checksums: Checksums = {};
  // Objects stored gzip-encoded are served decompressed: the stored hashes do not describe
  // the bytes we receive.
  const transcoded = metadata.contentEncoding === 'gzip';
  if (!transcoded) {
    if (typeof metadata.md5Hash === 'string') checksums.md5 = base64ToHex(metadata.md5Hash);
    if (typeof metadata.crc32c === 'string') checksums.crc32c = base64ToHex(metadata.crc32c);
    const sha256 = metadata.metadata?.[GCS_SHA256_METADATA_KEY];
    if (typeof sha256 === 'string' && /^[0-9a-f]{64}$/i.test(sha256)) checksums.sha256 = sha256.toLowerCase();
  }
  const size = transcoded || metadata.size === undefined ? undefined : Number(metadata.size);
  const version = metadata.generation === undefined ? undefined : String(metadata.generation);
  // Ranges of a gzip-transcoded object are ranges of the stored (compressed) bytes: not ours.
  return { size, checksums, version, acceptsRanges: version !== undefined && !transcoded };
}
