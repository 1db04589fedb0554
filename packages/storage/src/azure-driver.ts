import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AnonymousCredential,
  BlobServiceClient,
  RestError,
  StorageSharedKeyCredential,
  type BlobDownloadResponseParsed,
  type BlobGetPropertiesResponse,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  ConfigError,
  InvalidUriError,
  ObjectChangedError,
  ObjectExistsError,
  TransferError,
  base64ToHex,
  hexToBase64,
  redactSecrets,
  type AzureSettings,
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
import { errorText } from './errors.ts';
import { contentTypeFor } from './meter.ts';
import { trustProcessWide } from './trust.ts';
import { FINAL_STEP_TIMEOUT_MS, uploadBodies, uploadParts } from './upload-parts.ts';

/** Options of {@link createAzureDriver}. */
export interface AzureDriverOptions {
  /** Keys, SAS tokens, connection string and endpoint (readAzureSettings). */
  readonly settings: AzureSettings;
  /** Objects larger than this are uploaded as blocks. @default 64 MiB */
  readonly blockThreshold?: number;
  /** Block size. @default 16 MiB */
  readonly blockSize?: number;
  /** Blocks of one object uploaded at once. @default 4 */
  readonly blockConcurrency?: number;
  /** Extra trusted CA certificates (PEM): added to the process's default trust, which the SDK's HTTP client uses. */
  readonly ca?: string | Buffer | undefined;
}

type AzureLocation = { readonly scheme: 'azure'; readonly bucket: string; readonly key: string; readonly account: string; readonly endpointSuffix: string };

const MIB = 1024 * 1024;
/** Blocks of one blob, at most (Put Block List). */
const MAX_BLOCKS = 50_000;
/** The metadata key our uploads store the content's SHA-256 under (x-ms-meta-sha256). */
export const AZURE_SHA256_METADATA_KEY = 'sha256';

/**
 * A driver for Azure Blob Storage (`abfs[s]://`, `wasb[s]://`) through Microsoft's SDK. Both URI
 * forms name a blob through the Blob service (an ADLS Gen2 account serves its files there too).
 * Credentials per account, in this order: `AZURE_STORAGE_CONNECTION_STRING`, an account key
 * (`fs.azure.account.key.*`, `AZURE_STORAGE_KEY`), a SAS (`fs.azure.sas.*`,
 * `AZURE_STORAGE_SAS_TOKEN`), else `DefaultAzureCredential` (workload identity on AKS, managed
 * identity, environment).
 */
export function createAzureDriver(options: AzureDriverOptions): StorageDriver {
  const { settings } = options;
  if (options.ca !== undefined) trustProcessWide(options.ca, 'abfs:// and wasb://');
  const blockThreshold = options.blockThreshold ?? 64 * MIB;
  const blockSize = options.blockSize ?? 16 * MIB;
  const blockConcurrency = options.blockConcurrency ?? 4;
  const secrets = [
    ...Object.values(settings.accountKeys),
    ...Object.values(settings.containerSas),
    ...Object.values(settings.accountSas),
    settings.envAccountKey,
    settings.envSas,
    settings.connectionString,
  ].filter((s): s is string => s !== undefined && s !== '');
  // A SAS's signature may surface alone or URL-encoded (in a request URL of an error).
  for (const sas of [...Object.values(settings.containerSas), ...Object.values(settings.accountSas), settings.envSas]) {
    const sig = sas === undefined ? null : new URLSearchParams(sas).get('sig');
    if (sig) secrets.push(sig, encodeURIComponent(sig));
  }
  const connection = parseConnectionString(settings.connectionString);
  if (connection.accountKey !== undefined) secrets.push(connection.accountKey);
  if (connection.sas !== undefined) {
    secrets.push(connection.sas);
    const sig = new URLSearchParams(connection.sas).get('sig');
    if (sig) secrets.push(sig, encodeURIComponent(sig));
  }
  // One attempt per request: retries belong to the transfer layer, which logs each and keeps one
  // deadline per artifact.
  const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 }, userAgentOptions: { userAgentPrefix: 'flink-artifacts' } };
  const containers = new Map<string, Promise<ContainerClient>>();

  function locationOf(ref: ObjectRef): AzureLocation {
    if (ref.location.scheme !== 'azure') throw new InvalidUriError(`the Azure driver cannot read ${ref.display}`);
    return ref.location;
  }

  /**
   * The client for an account, with the first credential that applies: Flink's keys for this
   * account in this cloud (key, then SAS), the account-agnostic ones, then the environment
   * (`AZURE_STORAGE_CONNECTION_STRING` when it is for this account, `AZURE_STORAGE_KEY`,
   * `AZURE_STORAGE_SAS_TOKEN`), then DefaultAzureCredential. What the user gave as options wins
   * over what the environment holds, and `flink-artifacts.azure.endpoint` over any endpoint.
   */
  async function serviceFor(location: AzureLocation): Promise<{ service: BlobServiceClient; sas: string | undefined }> {
    const { account, endpointSuffix, bucket } = location;
    const host = `${account}.${endpointSuffix}`;
    const url = settings.endpoint ?? `https://${account}.blob.${endpointSuffix}`;
    const withKey = (key: string) => ({ service: new BlobServiceClient(url, new StorageSharedKeyCredential(account, key), pipeline), sas: undefined });
    const withSas = (sas: string) => ({ service: new BlobServiceClient(url, new AnonymousCredential(), pipeline), sas });
    const key = settings.accountKeys[host];
    if (key !== undefined) return withKey(key);
    const sas = settings.containerSas[`${bucket}@${host}`] ?? settings.accountSas[host];
    if (sas !== undefined) return withSas(sas);
    if (settings.accountKeys['*'] !== undefined) return withKey(settings.accountKeys['*']);
    if (settings.accountSas['*'] !== undefined) return withSas(settings.accountSas['*']);
    if (connection.given && (connection.accountName === undefined || connection.accountName === account)) {
      // The SDK reads it whole (development storage, its endpoints) unless an endpoint was set.
      if (settings.endpoint === undefined) return { service: BlobServiceClient.fromConnectionString(settings.connectionString!, pipeline), sas: undefined };
      if (connection.accountKey !== undefined) return withKey(connection.accountKey);
      if (connection.sas !== undefined) return withSas(connection.sas);
    }
    if (settings.envAccountKey !== undefined) return withKey(settings.envAccountKey);
    if (settings.envSas !== undefined) return withSas(settings.envSas);
    if (connection.given) {
      // Nothing else for this account, and the connection string is another's: say so, rather
      // than fall through to an identity the user did not mean.
      throw new ConfigError(`AZURE_STORAGE_CONNECTION_STRING is for account ${connection.accountName}, the URI names ${account}`, {
        hint: `give this account's key (fs.azure.account.key.${account}.dfs.${endpointSuffix}) or a SAS`,
      });
    }
    // Loaded only when needed: most runs have a key or a SAS.
    const { DefaultAzureCredential } = await import('@azure/identity');
    return { service: new BlobServiceClient(url, new DefaultAzureCredential(), pipeline), sas: undefined };
  }

  function containerFor(location: AzureLocation): Promise<ContainerClient> {
    const id = `${location.account}/${location.endpointSuffix}/${location.bucket}`;
    let client = containers.get(id);
    if (client === undefined) {
      client = serviceFor(location).then(({ service, sas }) => {
        const container = service.getContainerClient(location.bucket);
        // A SAS travels in the query string of every request of this container.
        return sas === undefined ? container : new BlobServiceClient(`${service.url}?${sas}`, new AnonymousCredential(), pipeline).getContainerClient(location.bucket);
      });
      containers.set(id, client);
    }
    return client;
  }

  /**
   * The one mapping of the service's answers to typed errors. A failed precondition (412) means
   * what the request's condition was about: `preconditionFailed` says it.
   */
  function toError(error: unknown, display: string, action: string, preconditionFailed?: () => Error): Error {
    if (error instanceof ConfigError || error instanceof ObjectExistsError || error instanceof ObjectChangedError) return error;
    const status = error instanceof RestError ? error.statusCode : undefined;
    const code = error instanceof RestError ? error.code : undefined;
    const detail = redactSecrets(errorText(error), secrets).split('\n')[0] ?? '';
    if (status === 404) {
      const what = code === 'ContainerNotFound' ? 'container does not exist' : 'blob does not exist';
      return new ArtifactNotFoundError(`${display}: ${what}`, { cause: error });
    }
    if ((status === 412 || (status === 409 && code === 'BlobAlreadyExists')) && preconditionFailed !== undefined) return preconditionFailed();
    if (/Bearer token authentication is not permitted for non-TLS/i.test(errorText(error))) {
      return new AccessDeniedError(`${display}: no account key or SAS is given, and a token (workload or managed identity) is sent over https only: ${settings.endpoint ?? 'the endpoint'} is http`, {
        cause: error,
        hint: 'give an account key (fs.azure.account.key.<account>..., AZURE_STORAGE_KEY) or a SAS for an http endpoint such as Azurite',
      });
    }
    if (status === 401 || status === 403 || CREDENTIAL_FAILURES.has((error as Error | undefined)?.name ?? '')) {
      return new AccessDeniedError(`${display}: access denied by Azure${code === undefined ? (status === undefined ? ' (no usable credentials)' : ` (${status})`) : ` (${code})`}`, {
        cause: error,
        hint: 'check fs.azure.account.key.<account>..., the SAS token (fs.azure.sas.*, AZURE_STORAGE_SAS_TOKEN), or the workload identity and its role on the container',
      });
    }
    // No status: the request never got an answer (refused, reset, timed out).
    const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
    return new TransferError(`${display}: ${action} failed${status === undefined ? '' : ` (HTTP ${status}${code ? ` ${code}` : ''})`}: ${detail}`, { cause: error, retryable });
  }

  const exists = (display: string) => (): Error => new ObjectExistsError(`${display}: a blob of that name already exists`);

  return {
    name: 'azure',

    // https://learn.microsoft.com/rest/api/storageservices/get-blob-properties
    async stat(ref: ObjectRef, statOptions: StatOptions = {}): Promise<RemoteObject | undefined> {
      const location = locationOf(ref);
      try {
        const container = await containerFor(location);
        return describe(await container.getBlobClient(location.key).getProperties({ abortSignal: statOptions.signal }));
      } catch (error) {
        const typed = toError(error, ref.display, 'HEAD');
        if (typed instanceof ArtifactNotFoundError) return undefined;
        throw typed;
      }
    },

    // https://learn.microsoft.com/rest/api/storageservices/get-blob
    async read(ref: ObjectRef, readOptions: ReadOptions = {}): Promise<ReadResult | NotModified> {
      const location = locationOf(ref);
      const start = readOptions.start ?? 0;
      let response: BlobDownloadResponseParsed;
      try {
        const container = await containerFor(location);
        response = await container.getBlobClient(location.key).download(start, readOptions.end === undefined ? undefined : readOptions.end - start + 1, {
          abortSignal: readOptions.signal,
          // Our transfer layer resumes cut bodies itself, pinned to the version.
          maxRetryRequests: 0,
          conditions: {
            ...(readOptions.unlessVersion ? { ifNoneMatch: readOptions.unlessVersion } : {}),
            ...(readOptions.ifMatch ? { ifMatch: readOptions.ifMatch } : {}),
          },
        });
      } catch (error) {
        if (error instanceof RestError && error.statusCode === 304) return { notModified: true };
        throw toError(error, ref.display, start > 0 ? 'ranged GET' : 'GET', () => new ObjectChangedError(`${ref.display} changed since the transfer began`, { cause: error }));
      }
      const body = response.readableStreamBody as Readable | undefined;
      if (body === undefined) throw new TransferError(`${ref.display}: Azure returned no body`, { retryable: true });
      // The SDK's body is a plain Readable that fails with 'error' when the connection is cut,
      // listened to or not (Node's own response stays silent then). Until the caller pipes it,
      // this keeps such an error on the stream (the pipe then reports it) instead of throwing.
      body.on('error', keptForTheConsumer);
      // A ranged answer states the part's length; the blob's size is after the slash.
      const total = /\/(\d+)$/.exec(response.contentRange ?? '')?.[1];
      // The response's fields are getters on its prototype: named one by one, never spread.
      const object = describe({
        contentLength: response.contentLength,
        contentMD5: response.blobContentMD5 ?? (start === 0 ? response.contentMD5 : undefined),
        etag: response.etag,
        metadata: response.metadata,
      });
      return { notModified: false, body, object: total === undefined ? object : { ...object, size: Number(total) }, start: response.contentRange ? start : 0 };
    },

    // https://learn.microsoft.com/rest/api/storageservices/list-blobs
    async list(prefix: ObjectRef, listOptions: StatOptions = {}): Promise<Map<string, RemoteObject>> {
      const location = locationOf(prefix);
      const objects = new Map<string, RemoteObject>();
      try {
        const container = await containerFor(location);
        for await (const item of container.listBlobsFlat({ prefix: location.key, includeMetadata: true, abortSignal: listOptions.signal })) {
          objects.set(item.name, describe({ contentLength: item.properties.contentLength, contentMD5: item.properties.contentMD5, etag: item.properties.etag, metadata: item.metadata }));
        }
      } catch (error) {
        throw toError(error, prefix.display, 'LIST');
      }
      return objects;
    },

    // Block blobs have no whole-object MD5 from the service: hashing one would only cost time.
    writeChecksums: (size: number) => (size > blockThreshold ? ['sha256'] : ['sha256', 'md5']),

    // https://learn.microsoft.com/rest/api/storageservices/put-blob and put-block-list
    async write(ref: ObjectRef, source: UploadSource, writeOptions: WriteOptions): Promise<RemoteObject> {
      const location = locationOf(ref);
      const { checksums } = writeOptions;
      const headers = {
        blobContentType: contentTypeFor(location.key),
        ...(checksums.md5 === undefined ? {} : { blobContentMD5: Buffer.from(hexToBase64(checksums.md5), 'base64') }),
      };
      const metadata = checksums.sha256 === undefined ? undefined : { [AZURE_SHA256_METADATA_KEY]: checksums.sha256 };
      const conditions = writeOptions.ifAbsent ? { ifNoneMatch: '*' } : undefined;
      const { body, signal, reportable } = uploadBodies(source, writeOptions);
      try {
        const blob = (await containerFor(location)).getBlockBlobClient(location.key);
        if (source.size <= blockThreshold) {
          // One request; the service checks the Content-MD5 of what it received.
          const output = await blob.upload(() => body(), source.size, {
            abortSignal: signal,
            blobHTTPHeaders: headers,
            ...(metadata === undefined ? {} : { metadata }),
            ...(conditions === undefined ? {} : { conditions }),
          });
          return { size: source.size, checksums: { ...checksums }, version: quotedEtag(output.etag) };
        }
        // Blocks streamed from byte ranges, each retried alone; nothing is visible until the
        // block list is committed, and uncommitted blocks are dropped by the service.
        // Uncommitted blocks belong to the blob's name, not to a writer: IDs unique to this write
        // keep two writers of one name from committing each other's blocks (IDs of one blob
        // must all have the same length).
        const writer = randomBytes(12).toString('hex');
        const ids = await uploadParts({
          display: ref.display,
          noun: 'block',
          total: source.size,
          partSize: Math.max(blockSize, Math.ceil(source.size / MAX_BLOCKS)),
          concurrency: blockConcurrency,
          retryPart: writeOptions.retryPart,
          signal,
          send: async (index, range, partSignal) => {
            const id = Buffer.from(`${writer}-${String(index).padStart(6, '0')}`).toString('base64');
            await blob.stageBlock(id, () => body(range), range.end - range.start + 1, { abortSignal: partSignal });
            return id;
          },
          toError: (error, what) => toError(error, what, 'upload'),
        });
        // The last step is not cut short by an abort (SIGTERM): once asked, the service may commit
        // anyway, and an upload reported aborted must be gone. It finishes, bounded on its own.
        signal.throwIfAborted();
        const output = await blob.commitBlockList(ids, {
          abortSignal: AbortSignal.timeout(FINAL_STEP_TIMEOUT_MS),
          blobHTTPHeaders: { blobContentType: headers.blobContentType },
          ...(metadata === undefined ? {} : { metadata }),
          ...(conditions === undefined ? {} : { conditions }),
        });
        return { size: source.size, checksums: { ...checksums }, version: quotedEtag(output.etag) };
      } catch (error) {
        const reported = reportable(error, ref.display);
        throw reported instanceof ObjectExistsError || reported instanceof TransferError ? reported : toError(reported, ref.display, 'upload', exists(ref.display));
      }
    },
  };
}

/** @azure/identity's errors: no credential in the chain, or a token refused. */
const CREDENTIAL_FAILURES = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

function keptForTheConsumer(): void {
  // Nothing to do: the stream is destroyed with the error, which its consumer sees.
}

function describe(output: Pick<BlobGetPropertiesResponse, 'contentLength' | 'contentMD5' | 'etag' | 'metadata'>): RemoteObject {
  const checksums: Checksums = {};
  if (output.contentMD5 !== undefined && output.contentMD5.length === 16) checksums.md5 = base64ToHex(Buffer.from(output.contentMD5).toString('base64'));
  const sha256 = output.metadata?.[AZURE_SHA256_METADATA_KEY];
  if (sha256 !== undefined && /^[0-9a-f]{64}$/i.test(sha256)) checksums.sha256 = sha256.toLowerCase();
  return { size: output.contentLength, checksums, version: quotedEtag(output.etag), acceptsRanges: output.etag !== undefined };
}

/** Blob listings give ETags bare, the other answers quoted: one form, so versions compare. */
function quotedEtag(etag: string | undefined): string | undefined {
  if (etag === undefined || etag.startsWith('"') || etag.startsWith('W/')) return etag;
  return `"${etag}"`;
}

/** The parts of an Azure Storage connection string we use; the SDK reads the rest. */
function parseConnectionString(text: string | undefined): { given: boolean; accountName?: string; accountKey?: string; sas?: string } {
  if (text === undefined || text.trim() === '') return { given: false };
  const parts = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const development = parts.get('usedevelopmentstorage')?.toLowerCase() === 'true';
  const accountName = development ? 'devstoreaccount1' : parts.get('accountname');
  const accountKey = parts.get('accountkey');
  const sas = parts.get('sharedaccesssignature')?.replace(/^\?/, '');
  return { given: true, ...(accountName ? { accountName } : {}), ...(accountKey ? { accountKey } : {}), ...(sas ? { sas } : {}) };
}
