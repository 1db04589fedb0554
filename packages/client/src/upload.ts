import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import {
  ChecksumMismatchError,
  BatchFailedError,
  FlinkKeys,
  abortableSleep,
  NotAFileError,
  READ_NONBLOCKING,
  openForReading,
  ObjectExistsError,
  TargetExistsError,
  TransferError,
  compareChecksums,
  fileSystemError,
  hashFile,
  isFlinkArtifactsError,
  readTransferPolicy,
  requireArtifacts,
  runTransfers,
  withRequestTimeout,
  withRetries,
  targetPrefixRef,
  type ArtifactLocation,
  type ChecksumAlgorithm,
  type Checksums,
  type TransferPolicy,
  type DriverPicker,
  type RemoteObject,
  type StorageDriver,
  type TransferContext,
  type TransferEvent,
  type TransferOptions,
  type UploadSource,
} from '@flink-artifacts/core';
import { openDrivers, type StorageOptions } from '@flink-artifacts/storage';
import { defaultCacheFile, openChecksumCache, type ChecksumCache } from './checksum-cache.ts';
import { planUpload, type PlannedUpload, type UploadPlan } from './plan.ts';

/**
 * How one artifact ended. `passed`: not local, left as it was. With `dryRun`, `would-upload`
 * and `would-skip` say what a real run would do; `failed` covers refusals in both modes.
 */
export type UploadStatus = 'uploaded' | 'skipped' | 'passed' | 'would-upload' | 'would-skip' | 'failed';

/** The outcome for one artifact. */
export interface UploadItemResult {
  readonly role: 'job' | 'artifact';
  /** The artifact as given, credentials masked. */
  readonly source: string;
  /** The URI it has after the upload, credentials masked. */
  readonly uri: string;
  readonly status: UploadStatus;
  /** Bytes sent (0 unless uploaded). */
  readonly bytes: number;
  /** Why it was skipped, overwritten or refused, in words. */
  readonly reason?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What an upload did (or, with `dryRun`, would do). */
export interface UploadReport {
  /** The rewritten job URI (for `pipeline.jars`), or null when no job jar was given or it failed. Exact, not masked: it is meant to be used. */
  readonly jobUri: string | null;
  /** The rewritten `user.artifacts.artifact-list`, in order, without entries that failed. Exact, not masked. */
  readonly artifactList: string[];
  /** How many objects were written. Which ones: `items` (status `uploaded`). */
  readonly uploaded: number;
  /** How many already held identical content, so nothing was written. */
  readonly skipped: number;
  /** How many artifacts were not local and passed on unchanged. */
  readonly passed: number;
  /** Dry run: how many would be written, and how many skipped. */
  readonly wouldUpload: number;
  readonly wouldSkip: number;
  /** Bytes sent. */
  readonly bytes: number;
  readonly dryRun: boolean;
  /** One entry per artifact, job first. */
  readonly items: UploadItemResult[];
}

/** Progress of an upload: the engine's events. */
export type UploadEvent = TransferEvent<UploadItemResult>;

/** Options of {@link uploadArtifacts}. */
export interface UploadOptions extends TransferOptions<UploadItemResult> {
  /** Look, compare and report; write nothing. @default false */
  readonly dryRun?: boolean;
  /** Extra storage options when drivers are built from `config`. */
  readonly storage?: Omit<StorageOptions, 's3'>;
  /**
   * File of remembered local checksums (so unchanged jars are not read again), or false for
   * none. @default FLINK_ARTIFACTS_CACHE_DIR, $XDG_CACHE_HOME or ~/.cache, flink-artifacts/checksums.json
   */
  readonly checksumCache?: string | false;
}

/** Default number of concurrent uploads. */
export const DEFAULT_UPLOAD_CONCURRENCY = 8;

/** Some artifacts could not be uploaded. The report lists every artifact. */
export class UploadFailedError extends BatchFailedError<UploadReport> {
  constructor(report: UploadReport) {
    super('ERR_UPLOAD_FAILED', report);
    this.name = 'UploadFailedError';
  }
}

/**
 * Uploads the job jar and artifacts that are local (`local://`, plain absolute paths) to
 * `kubernetes.artifacts.local-upload-target` and returns the rewritten URIs.
 *
 * Where Flink skips an existing object by name alone (and deploys a stale jar), this compares:
 * same size and checksum is skipped, other content is refused unless
 * `kubernetes.artifacts.local-upload-overwrite=true`. New objects are created with the store's
 * conditional create, so two clients racing on one name cannot both write.
 *
 * @throws ConfigError and URI errors before any transfer.
 * @throws UploadFailedError (with the full report) when any artifact failed or was refused.
 * @throws AbortedError when `signal` aborted.
 */
export async function uploadArtifacts(options: UploadOptions): Promise<UploadReport> {
  const plan = planUpload(options.config, options.jobUri);
  requireArtifacts(plan, 'upload');
  const concurrency = options.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
  const policy = options.policy ?? readTransferPolicy(options.config);
  const opened = await openDrivers(options.config, { given: options.drivers, storage: options.storage, maxSockets: Math.max(concurrency * 4, 16) });
  const drivers = opened.picker;
  const dryRun = options.dryRun === true;
  const items = plan.job === undefined ? [...plan.artifacts] : [plan.job, ...plan.artifacts];

  const uploads = items.filter((item) => item.action === 'upload').length;
  const cache = uploads === 0 || options.checksumCache === false ? undefined : await openChecksumCache(options.checksumCache ?? defaultCacheFile());
  try {
    const listing = await listTarget(plan, drivers, policy, options.signal);
    const results = await runTransfers(
      {
        items,
        displayOf: (item) => item.uri.display,
        transfer: async (item, context) => (item.action === 'pass' ? passed(item) : uploadOne(item, context, { drivers, plan, dryRun, listing, cache })),
        failed: (item, error) => ({
          role: item.role,
          source: item.uri.display,
          uri: item.action === 'upload' ? item.destination.display : item.uri.display,
          status: 'failed' as const,
          bytes: 0,
          error,
        }),
      },
      { concurrency, policy, signal: options.signal, onEvent: options.onEvent, abortedMessage: 'upload aborted' },
    );
    const count = (status: UploadItemResult['status']): number => results.filter((r) => r.status === status).length;
    // Only URIs that name something: a failed upload's destination was never written.
    const failedUris = new Set(items.filter((_, i) => results[i]!.status === 'failed').map((item) => item.rewritten));
    const report: UploadReport = {
      jobUri: plan.job === undefined || failedUris.has(plan.job.rewritten) ? null : plan.job.rewritten,
      artifactList: plan.artifactList.filter((uri) => !failedUris.has(uri)),
      uploaded: count('uploaded'),
      skipped: count('skipped'),
      passed: count('passed'),
      wouldUpload: count('would-upload'),
      wouldSkip: count('would-skip'),
      bytes: results.reduce((sum, r) => sum + r.bytes, 0),
      dryRun,
      items: results,
    };
    if (results.some((r) => r.status === 'failed')) throw new UploadFailedError(report);
    return report;
  } finally {
    await cache?.save();
    await opened.close();
  }
}

/** What every artifact of one upload shares. */
interface Shared {
  readonly drivers: DriverPicker;
  readonly plan: UploadPlan;
  readonly dryRun: boolean;
  /** What one listing of the target said, by key (or path); undefined when not listed. */
  readonly listing: Map<string, RemoteObject> | undefined;
  readonly cache: ChecksumCache | undefined;
}

type Upload = Extract<PlannedUpload, { action: 'upload' }>;

function passed(item: PlannedUpload): UploadItemResult {
  return { role: item.role, source: item.uri.display, uri: item.uri.display, status: 'passed', bytes: 0 };
}

/**
 * With several local artifacts, one listing of the target prefix replaces a HEAD per object:
 * redeploying unchanged jars (all skipped) is the common case. A store without listing, or a
 * failed listing, falls back to one look per object.
 */
async function listTarget(plan: UploadPlan, drivers: DriverPicker, policy: TransferPolicy, signal: AbortSignal | undefined): Promise<Map<string, RemoteObject> | undefined> {
  const uploads = [...(plan.job ? [plan.job] : []), ...plan.artifacts].filter((item): item is Upload => item.action === 'upload');
  if (plan.target === undefined || uploads.length < 2) return undefined;
  const first = uploads[0]!.destination;
  const driver = await drivers.driverFor(first.location);
  if (driver.list === undefined) return undefined;
  const prefix = targetPrefixRef(plan.target);
  return withRetries(() => withRequestTimeout((requestSignal) => driver.list!(prefix, { signal: requestSignal }), policy.connectTimeoutMs, signal, prefix.display), { policy, signal }).catch(
    (error: unknown) => {
      if (signal?.aborted) throw error;
      // Only a listing the store cannot give (not allowed, not supported) falls back to looks;
      // a failure of the store itself is the upload's failure, not silently swallowed.
      if (isFlinkArtifactsError(error) && (error.code === 'ERR_ACCESS_DENIED' || error.code === 'ERR_ARTIFACT_NOT_FOUND')) return undefined;
      throw error;
    },
  );
}

/** The key a listing uses for a location: the object key, or the file's path. */
function keyOf(location: ArtifactLocation): string {
  switch (location.scheme) {
    case 's3':
    case 'gs':
    case 'oss':
    case 'azure':
      return location.key;
    case 'file':
    case 'local':
      return location.path;
    case 'http':
    case 'https':
      return location.url;
  }
}

async function uploadOne(item: Upload, context: TransferContext, shared: Shared): Promise<UploadItemResult> {
  const local = await LocalArtifact.open(item, shared.cache);
  const driver = await shared.drivers.driverFor(item.destination.location);
  if (driver.write === undefined) throw new TransferError(`${item.destination.display}: the ${driver.name} store cannot be written to`);
  // Each attempt looks again before it writes: a failed attempt may have written after all.
  let listed = shared.listing;
  return context.retry(async () => {
    const attempt = uploadAttempt(item, local, driver, context, shared, listed);
    listed = undefined;
    return attempt;
  });
}

async function uploadAttempt(
  item: Upload,
  local: LocalArtifact,
  driver: StorageDriver,
  context: TransferContext,
  shared: Shared,
  listing: Map<string, RemoteObject> | undefined,
): Promise<UploadItemResult> {
  const base = { role: item.role, source: item.uri.display, uri: item.destination.display };
  const write = driver.write!.bind(driver);
  const look = (): Promise<RemoteObject | undefined> => context.timed((signal) => driver.stat(item.destination, { signal }));
  const compare = (remote: RemoteObject): Promise<'same' | 'different' | 'unknown'> => compareRemote(remote, local, driver, item, context);
  // A #sha256 pin is checked against the file every time, whatever is remembered or cached.
  if (item.uri.sha256 !== undefined) await local.verifyPin();

  let remote = listing === undefined ? await look() : listing.get(keyOf(item.destination.location));
  let verdict = remote === undefined ? undefined : await compare(remote);
  // A listing states less than a look (no metadata; an ETag that may not be an MD5): only a
  // match is taken from it, anything else is looked at again.
  if (listing !== undefined && remote !== undefined && verdict !== 'same') {
    remote = await look();
    verdict = remote === undefined ? undefined : await compare(remote);
  }

  let ifAbsent = true;
  let reason: string | undefined;
  if (remote !== undefined && verdict !== undefined) {
    if (verdict === 'same') return { ...base, status: shared.dryRun ? 'would-skip' : 'skipped', bytes: 0, reason: 'identical object already there' };
    if (!shared.plan.overwrite) throw refuseExisting(item, verdict, remote, local.size);
    ifAbsent = false;
    reason = `replacing ${verdict === 'different' ? 'different' : 'unverifiable'} content (${FlinkKeys.localUploadOverwrite}=true)`;
  }
  if (shared.dryRun) return { ...base, status: 'would-upload', bytes: 0, ...(reason ? { reason } : {}) };

  const checksums = await local.checksums(driver.writeChecksums?.(local.size) ?? ['sha256', 'md5']);
  context.started(local.size);
  const source: UploadSource = {
    size: local.size,
    open: (range) => openForReading(item.sourcePath, { highWaterMark: 1024 * 1024, ...(range ?? {}) }),
  };
  // A server that stops reading (or never answers once the body is sent) ends the attempt after
  // the idle timeout, on every store; the attempt is then retried.
  const watch = context.watchIdle('sent');
  try {
    await write(item.destination, source, { checksums, ifAbsent, signal: watch.signal, onBytes: watch.onBytes, retryPart: (attempt) => context.retry(attempt) });
  } catch (error) {
    if (watch.signal.aborted && !context.signal?.aborted && isFlinkArtifactsError(watch.signal.reason)) throw watch.signal.reason;
    if (!(error instanceof ObjectExistsError)) throw error;
    // Another client created it between our look and our write, or is creating it now: fine
    // if it is the same content; its object is awaited (within the retry deadline) to tell.
    const now = await awaitObject(look, context);
    if (now !== undefined && (await compare(now)) === 'same') {
      return { ...base, status: 'skipped', bytes: 0, reason: 'identical object written concurrently by another client' };
    }
    if (now === undefined) {
      throw new TargetExistsError(`${item.destination.display} is being created by another client, which has not finished; not replacing it`, {
        hint: 'try again once the other upload is done, or rename the local file',
      });
    }
    throw refuseExisting(item, 'different', now, local.size);
  } finally {
    watch.stop();
  }
  return { ...base, status: 'uploaded', bytes: local.size, ...(reason ? { reason } : {}) };
}

/**
 * The object another client is creating: looked for until it appears, with the retry policy's
 * backoff, until its deadline.
 */
async function awaitObject(look: () => Promise<RemoteObject | undefined>, context: TransferContext): Promise<RemoteObject | undefined> {
  const { policy, signal } = context;
  const started = Date.now();
  for (let wait = policy.initialBackoffMs; ; wait = Math.min(policy.maxBackoffMs, wait * 2)) {
    const found = await look();
    if (found !== undefined || Date.now() - started + wait > policy.deadlineMs) return found;
    await abortableSleep(wait, signal);
  }
}

/**
 * A local file to upload: checked to be a readable regular file, hashed lazily and at most
 * once per algorithm (an unchanged jar is compared with MD5 alone; SHA-256 runs at twice
 * MD5's speed here, so it is preferred when the store keeps one).
 */
class LocalArtifact {
  readonly size: number;
  readonly #item: Upload;
  readonly #stats: Stats;
  readonly #cache: ChecksumCache | undefined;
  readonly #checksums: Checksums;
  #pinVerified = false;

  private constructor(item: Upload, stats: Stats, cache: ChecksumCache | undefined) {
    this.#item = item;
    this.#stats = stats;
    this.#cache = cache;
    this.size = stats.size;
    this.#checksums = { ...cache?.get(item.sourcePath, stats) };
  }

  static async open(item: Upload, cache: ChecksumCache | undefined): Promise<LocalArtifact> {
    const display = item.uri.display;
    const info = await stat(item.sourcePath).catch((error: unknown) => {
      throw fileSystemError(error, display, 'read', 'local file');
    });
    if (info.isDirectory()) throw new NotAFileError(`${display} is a directory, not a file`, { hint: 'give the jar itself' });
    if (!info.isFile()) throw new NotAFileError(`${display} is not a regular file`);
    // open() also catches a file we may stat but not read.
    await (await open(item.sourcePath, READ_NONBLOCKING).catch((error: unknown) => {
      throw fileSystemError(error, display, 'read', 'local file');
    })).close();
    return new LocalArtifact(item, info, cache);
  }

  /**
   * Checks the file against its `#sha256` pin by reading it, never from a remembered checksum:
   * a cache describes what the file was, the pin what it must be.
   *
   * @throws ChecksumMismatchError naming the artifact.
   */
  async verifyPin(): Promise<void> {
    const pinned = this.#item.uri.sha256;
    if (pinned === undefined || this.#pinVerified) return;
    const { sha256 } = await hashFile(this.#item.sourcePath, ['sha256']);
    if (sha256 !== pinned) throw new ChecksumMismatchError(`${this.#item.uri.display}: SHA-256 is ${sha256}, the URI pins ${pinned}`);
    this.#checksums.sha256 = sha256;
    this.#pinVerified = true;
  }

  /** The given checksums of the file, computing the missing ones in one read. */
  async checksums(algorithms: readonly ChecksumAlgorithm[]): Promise<Checksums> {
    const missing = algorithms.filter((a) => this.#checksums[a] === undefined);
    if (missing.length > 0) {
      const computed = await hashFile(this.#item.sourcePath, missing);
      Object.assign(this.#checksums, computed);
      this.#cache?.set(this.#item.sourcePath, this.#stats, computed);
    }
    return Object.fromEntries(algorithms.map((a) => [a, this.#checksums[a]])) as Checksums;
  }
}

/**
 * Same content, other content, or cannot tell: sizes first, then one checksum the store
 * states (the cheapest to compute here), then (file stores only) a hash of the stored object.
 */
async function compareRemote(remote: RemoteObject, local: LocalArtifact, driver: StorageDriver, item: Upload, context: TransferContext): Promise<'same' | 'different' | 'unknown'> {
  if (remote.size !== undefined && remote.size !== local.size) return 'different';
  const algorithm = (['sha256', 'md5', 'crc32c'] as const).find((a) => remote.checksums[a] !== undefined);
  if (algorithm !== undefined) {
    const stated = compareChecksums({ [algorithm]: remote.checksums[algorithm] }, await local.checksums([algorithm]));
    return stated.mismatched.length === 0 ? 'same' : 'different';
  }
  if (driver.hash !== undefined) {
    const computed = compareChecksums(await driver.hash(item.destination, ['sha256'], { signal: context.signal }), await local.checksums(['sha256']));
    if (computed.compared.length > 0) return computed.mismatched.length === 0 ? 'same' : 'different';
  }
  return 'unknown';
}

function refuseExisting(item: Upload, verdict: 'different' | 'unknown', remote: RemoteObject | undefined, localSize: number): TargetExistsError {
  const sizes = remote?.size !== undefined && remote.size !== localSize ? ` (${remote.size} bytes there, ${localSize} here)` : '';
  const what = verdict === 'different' ? `exists with different content${sizes}` : 'exists and its content cannot be compared with the local file (the store states no checksum we can check)';
  return new TargetExistsError(`${item.destination.display} ${what}; not replacing it`, {
    hint: `set ${FlinkKeys.localUploadOverwrite}=true to replace it, or rename the local file`,
  });
}
