import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import pLimit from 'p-limit';
import {
  AbortedError,
  AccessDeniedError,
  ArtifactNotFoundError,
  ChecksumMismatchError,
  FlinkArtifactsError,
  FlinkKeys,
  NotAFileError,
  ObjectExistsError,
  TargetExistsError,
  TransferError,
  compareChecksums,
  createChecksumAccumulator,
  describeError,
  isFlinkArtifactsError,
  readTransferPolicy,
  withRetries,
  type Checksums,
  type TransferPolicy,
  type DriverPicker,
  type FlinkConfig,
  type RemoteObject,
  type StorageDriver,
  type UploadSource,
} from '@flink-artifacts/core';
import { createDriverPicker, storageOptionsFromConfig, type StorageOptions } from '@flink-artifacts/storage';
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
  /** The rewritten job URI (for `pipeline.jars`), or null when no job jar was given. Exact, not masked: it is meant to be used. */
  readonly jobUri: string | null;
  /** The rewritten `user.artifacts.artifact-list`, in order. Exact, not masked. */
  readonly artifactList: string[];
  /** Remote URIs written (masked). */
  readonly uploaded: string[];
  /** Remote URIs already holding identical content (masked). */
  readonly skipped: string[];
  /** Bytes sent. */
  readonly bytes: number;
  readonly dryRun: boolean;
  /** One entry per artifact, job first. */
  readonly items: UploadItemResult[];
}

/** Progress of an upload. */
export type UploadEvent =
  | { readonly type: 'planned'; readonly plan: UploadPlan; readonly total: number }
  | { readonly type: 'start'; readonly uri: string; readonly size: number }
  | { readonly type: 'progress'; readonly uri: string; readonly bytes: number }
  | { readonly type: 'retry'; readonly uri: string; readonly attempt: number; readonly maxAttempts: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'done'; readonly result: UploadItemResult };

/** Options of {@link uploadArtifacts}. */
export interface UploadOptions {
  /** Flink configuration (merged: config file, then `-D`). */
  readonly config: FlinkConfig;
  /** JOB_URI. @default the single entry of `pipeline.jars` */
  readonly jobUri?: string | undefined;
  /** Uploads at once. @default 8 */
  readonly concurrency?: number;
  /** Look, compare and report; write nothing. @default false */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: UploadEvent) => void;
  /** Storage drivers. @default built from `config` */
  readonly drivers?: DriverPicker;
  /** Extra storage options when drivers are built from `config`. */
  readonly storage?: Omit<StorageOptions, 's3'>;
  /** Retries and timeouts. @default from `flink-artifacts.retry.*` / `flink-artifacts.timeout.*` */
  readonly policy?: TransferPolicy;
}

/** Default number of concurrent uploads. */
export const DEFAULT_UPLOAD_CONCURRENCY = 8;

/** Some artifacts could not be uploaded. The report lists every artifact. */
export class UploadFailedError extends FlinkArtifactsError {
  readonly report: UploadReport;
  constructor(report: UploadReport) {
    const failed = report.items.filter((item) => item.status === 'failed');
    const first = failed[0]?.error?.message ?? 'unknown error';
    super('ERR_UPLOAD_FAILED', 'runtime', failed.length === 1 ? first : `${failed.length} artifacts failed; first: ${first}`);
    this.name = 'UploadFailedError';
    this.report = report;
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
  const concurrency = options.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
  const policy = options.policy ?? readTransferPolicy(options.config);
  const drivers = options.drivers ?? createDriverPicker({ ...(await storageOptionsFromConfig(options.config, options.storage)), maxSockets: Math.max(concurrency * 4, 16) });
  const ownsDrivers = options.drivers === undefined;
  const emit = options.onEvent ?? (() => undefined);
  const dryRun = options.dryRun === true;
  const items = plan.job === undefined ? [...plan.artifacts] : [plan.job, ...plan.artifacts];
  emit({ type: 'planned', plan, total: items.length });

  try {
    const limit = pLimit(concurrency);
    const results = await Promise.all(
      items.map((item) =>
        limit(async (): Promise<UploadItemResult> => {
          let result: UploadItemResult;
          try {
            options.signal?.throwIfAborted();
            result = item.action === 'pass' ? passed(item) : await uploadOne(item, { drivers, plan, dryRun, signal: options.signal, emit, policy });
          } catch (error) {
            result = failedResult(item, error, options.signal);
          }
          emit({ type: 'done', result });
          return result;
        }),
      ),
    );
    if (options.signal?.aborted) throw new AbortedError('upload aborted');
    const report: UploadReport = {
      jobUri: plan.job?.rewritten ?? null,
      artifactList: plan.artifacts.map((item) => item.rewritten),
      uploaded: results.filter((r) => r.status === 'uploaded').map((r) => r.uri),
      skipped: results.filter((r) => r.status === 'skipped').map((r) => r.uri),
      bytes: results.reduce((sum, r) => sum + r.bytes, 0),
      dryRun,
      items: results,
    };
    if (results.some((r) => r.status === 'failed')) throw new UploadFailedError(report);
    return report;
  } finally {
    if (ownsDrivers) await drivers.close();
  }
}

interface Context {
  readonly drivers: DriverPicker;
  readonly plan: UploadPlan;
  readonly dryRun: boolean;
  readonly signal: AbortSignal | undefined;
  readonly emit: (event: UploadEvent) => void;
  readonly policy: TransferPolicy;
}

type Upload = Extract<PlannedUpload, { action: 'upload' }>;

function passed(item: PlannedUpload): UploadItemResult {
  return { role: item.role, source: item.uri.display, uri: item.uri.display, status: 'passed', bytes: 0 };
}

async function uploadOne(item: Upload, context: Context): Promise<UploadItemResult> {
  const local = await inspectLocal(item);
  const driver = await context.drivers.driverFor(item.destination.location);
  if (driver.write === undefined) throw new TransferError(`${item.destination.display}: the ${driver.name} store cannot be written to`);
  // Each attempt looks again before it writes: a failed attempt may have written after all.
  return withRetries(() => uploadAttempt(item, local, driver, context), {
    policy: context.policy,
    signal: context.signal,
    onRetry: (notice) =>
      context.emit({ type: 'retry', uri: item.destination.display, attempt: notice.attempt, maxAttempts: notice.maxAttempts, delayMs: notice.delayMs, reason: describeError(notice.error) }),
  });
}

async function uploadAttempt(item: Upload, local: LocalFile, driver: StorageDriver, context: Context): Promise<UploadItemResult> {
  const base = { role: item.role, source: item.uri.display, uri: item.destination.display };
  if (driver.write === undefined) throw new TransferError(`${item.destination.display}: the ${driver.name} store cannot be written to`);

  const remote = await driver.stat(item.destination, { signal: context.signal });
  let ifAbsent = true;
  let reason: string | undefined;
  if (remote !== undefined) {
    const verdict = await compareRemote(remote, local, driver, item, context.signal);
    if (verdict === 'same') return { ...base, status: context.dryRun ? 'would-skip' : 'skipped', bytes: 0, reason: 'identical object already there' };
    if (!context.plan.overwrite) throw refuseExisting(item, verdict, remote, local.size);
    ifAbsent = false;
    reason = `replacing ${verdict === 'different' ? 'different' : 'unverifiable'} content (${FlinkKeys.localUploadOverwrite}=true)`;
  }
  if (context.dryRun) return { ...base, status: 'would-upload', bytes: 0, ...(reason ? { reason } : {}) };

  context.emit({ type: 'start', uri: item.destination.display, size: local.size });
  const source: UploadSource = {
    size: local.size,
    open: (range) => createReadStream(item.sourcePath, { highWaterMark: 1024 * 1024, ...(range ?? {}) }),
  };
  try {
    await driver.write(item.destination, source, {
      checksums: local.checksums,
      ifAbsent,
      signal: context.signal,
      onBytes: (bytes) => context.emit({ type: 'progress', uri: item.destination.display, bytes }),
    });
  } catch (error) {
    if (!(error instanceof ObjectExistsError)) throw error;
    // Another client created it between our look and our write: fine if it is the same content.
    const now = await driver.stat(item.destination, { signal: context.signal });
    if (now !== undefined && (await compareRemote(now, local, driver, item, context.signal)) === 'same') {
      return { ...base, status: 'skipped', bytes: 0, reason: 'identical object written concurrently by another client' };
    }
    throw refuseExisting(item, 'different', now, local.size);
  }
  return { ...base, status: 'uploaded', bytes: local.size, ...(reason ? { reason } : {}) };
}

interface LocalFile {
  readonly size: number;
  readonly checksums: Checksums;
}

/** Checks the local file is a readable regular file and hashes it (SHA-256 and MD5, one pass). */
async function inspectLocal(item: Upload): Promise<LocalFile> {
  const display = item.uri.display;
  const info = await stat(item.sourcePath).catch((error: unknown) => {
    throw localError(error, display);
  });
  if (info.isDirectory()) throw new NotAFileError(`${display} is a directory, not a file`, { hint: 'give the jar itself' });
  if (!info.isFile()) throw new NotAFileError(`${display} is not a regular file`);
  // open() also catches a file we may stat but not read.
  await (await open(item.sourcePath, 'r').catch((error: unknown) => {
    throw localError(error, display);
  })).close();
  const accumulator = createChecksumAccumulator(['sha256', 'md5']);
  for await (const chunk of createReadStream(item.sourcePath, { highWaterMark: 1024 * 1024 })) accumulator.update(chunk as Buffer);
  const checksums = accumulator.digest();
  if (item.uri.sha256 !== undefined && checksums.sha256 !== item.uri.sha256) {
    throw new ChecksumMismatchError(`${display}: SHA-256 is ${checksums.sha256}, the URI pins ${item.uri.sha256}`);
  }
  return { size: info.size, checksums };
}

function localError(error: unknown, display: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ArtifactNotFoundError(`${display}: no such local file`, { cause: error });
  if (code === 'EACCES' || code === 'EPERM') return new AccessDeniedError(`${display}: cannot read the local file (permission denied)`, { cause: error });
  return new TransferError(`${display}: cannot read the local file: ${(error as Error).message}`, { cause: error });
}

/**
 * Same content, other content, or cannot tell: sizes first, then any checksum both sides
 * have, then (file stores only) a hash of the stored object.
 */
async function compareRemote(
  remote: RemoteObject,
  local: LocalFile,
  driver: StorageDriver,
  item: Upload,
  signal: AbortSignal | undefined,
): Promise<'same' | 'different' | 'unknown'> {
  if (remote.size !== undefined && remote.size !== local.size) return 'different';
  const stated = compareChecksums(remote.checksums, local.checksums);
  if (stated.compared.length > 0) return stated.mismatched.length === 0 ? 'same' : 'different';
  if (driver.hash !== undefined) {
    const computed = compareChecksums(await driver.hash(item.destination, ['sha256'], { signal }), local.checksums);
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

function failedResult(item: PlannedUpload, error: unknown, signal: AbortSignal | undefined): UploadItemResult {
  const typed = isFlinkArtifactsError(error) ? error : signal?.aborted ? new AbortedError(`${item.uri.display}: aborted`) : undefined;
  return {
    role: item.role,
    source: item.uri.display,
    uri: item.action === 'upload' ? item.destination.display : item.uri.display,
    status: 'failed',
    bytes: 0,
    error: { code: typed?.code ?? 'ERR_TRANSFER', message: typed ? describeError(typed) : `${item.uri.display}: ${describeError(error)}` },
  };
}
