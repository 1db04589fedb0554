import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  BatchFailedError,
  ObjectChangedError,
  TransferError,
  compareChecksums,
  fileSystemError,
  hashFile,
  isFlinkArtifactsError,
  planFetch,
  plannedArtifacts,
  readRangePolicy,
  readTransferPolicy,
  requireArtifacts,
  runTransfers,
  stateDirectory,
  type Checksums,
  type DriverPicker,
  type PlannedArtifact,
  type RangePolicy,
  type ReadResult,
  type RemoteObject,
  type StorageDriver,
  type TransferContext,
  type TransferEvent,
  type TransferOptions,
} from '@flink-artifacts/core';
import { openDrivers, type StorageOptions } from '@flink-artifacts/storage';
import { claimLeftovers, type Leftover } from './leftovers.ts';
import { ensureStateDirectory } from './state-dir.ts';
import { stateName } from './state-names.ts';
import { Ownership } from './ownership.ts';
import { PartialDownload, algorithmsFor } from './partial-download.ts';
import { currentBootId, readRecord, recordMatches, removeRecord, uriKey, writeRecord, writtenThisBoot } from './record.ts';

/** How one artifact ended. */
export type ArtifactStatus = 'fetched' | 'reused' | 'local' | 'failed';

/** The outcome for one artifact. */
export interface ArtifactResult {
  readonly role: 'job' | 'artifact';
  /** The URI, credentials masked. */
  readonly uri: string;
  /** Absolute path of the file (in the cluster directory, or the local path for `local://`). */
  readonly path: string;
  readonly status: ArtifactStatus;
  /** Bytes transferred for this artifact (0 when reused or local). */
  readonly bytes: number;
  /** Why it failed: stable code and message. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What a fetch did. The CLI prints this; `--json` prints it as JSON. */
export interface FetchReport {
  /** Absolute path of the job jar, or null when no job jar was given or it failed. */
  readonly jobJar: string | null;
  /** Absolute paths of the artifacts of `user.artifacts.artifact-list` that are in place, in order (failed ones left out). */
  readonly artifacts: string[];
  /** How many files were downloaded or copied. */
  readonly fetched: number;
  /** How many files already in place were kept, known to be identical. */
  readonly reused: number;
  /** How many `local://` artifacts are used where they are (in the image), not copied. */
  readonly local: number;
  /** Bytes transferred. */
  readonly bytes: number;
  /** The cluster directory: `<base-dir>/<namespace>/<cluster-id>`. */
  readonly targetDir: string;
  /** One entry per artifact, job first. */
  readonly items: ArtifactResult[];
}

/** Progress of a fetch, for progress bars and logs: the engine's events. */
export type FetchEvent = TransferEvent<ArtifactResult>;

/** Options of {@link fetchArtifacts}. */
export interface FetchOptions extends TransferOptions<ArtifactResult> {
  /** Extra storage options when drivers are built from `config` (a CA, a GCS endpoint...). */
  readonly storage?: Omit<StorageOptions, 's3'>;
  /** Resolves a relative base dir. @default process.cwd() */
  readonly cwd?: string;
  /** How large objects are split into parallel ranges. @default from the config (flink-artifacts.fetch.*) */
  readonly ranges?: RangePolicy;
}

const MiB = 1024 * 1024;
/** Memory for file write buffers across all transfers at once. */
const WRITE_BUFFER_BUDGET = 8 * MiB;

/** Default number of concurrent transfers. */
export const DEFAULT_CONCURRENCY = 8;

/** Some artifacts could not be fetched. The report lists every artifact, failed ones included. */
export class FetchFailedError extends BatchFailedError<FetchReport> {
  constructor(report: FetchReport) {
    super('ERR_FETCH_FAILED', report);
    this.name = 'FetchFailedError';
  }
}

/**
 * Fetches the job jar and every artifact into `<base-dir>/<namespace>/<cluster-id>/`, as
 * Flink's application mode does, but concurrently, verified, atomically and idempotently.
 *
 * Everything is validated before the first byte moves. Each artifact either ends complete
 * and verified under its final name or not at all; a failure of one does not stop the others.
 *
 * @throws ConfigError and the URI errors of {@link planFetch} before any transfer.
 * @throws FetchFailedError (with the full report) when any artifact failed.
 * @throws AbortedError when `signal` aborted.
 */
export async function fetchArtifacts(options: FetchOptions): Promise<FetchReport> {
  const plan = planFetch({ config: options.config, jobUri: options.jobUri, ...(options.cwd ? { cwd: options.cwd } : {}) });
  requireArtifacts(plan, 'fetch');
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const policy = options.policy ?? readTransferPolicy(options.config);
  const ranges = options.ranges ?? readRangePolicy(options.config);
  // A socket for every range of every transfer in flight, so that ranges never queue for one.
  const maxSockets = Math.min(256, Math.max(concurrency, 8) * ranges.parallel);
  const drivers = await openDrivers(options.config, { given: options.drivers, storage: options.storage, maxSockets });
  const items = plannedArtifacts(plan);
  // A fixed memory budget for write buffers, shared by the transfers running at once.
  const writeBufferBytes = Math.min(2 * MiB, Math.max(256 * 1024, Math.floor(WRITE_BUFFER_BUDGET / Math.min(concurrency, items.length || 1))));
  let ownership: Ownership | undefined;

  try {
    const clusterDir = plan.location.clusterDir;
    const stateDir = stateDirectory(clusterDir);
    const downloads = items.filter((item) => item.mode === 'download');
    let leftovers = new Map<string, Leftover>();
    if (downloads.length > 0) {
      await ensureDirectory(clusterDir, clusterDir);
      await ensureStateDirectory(stateDir);
      ownership = await Ownership.start(stateDir);
      leftovers = await claimLeftovers(stateDir, ownership, new Map(downloads.map((item) => [stateName(item.uri.fileName), uriKey(item.uri.raw)])));
    }
    const owner = ownership?.id ?? '';
    const results = await runTransfers(
      {
        items,
        displayOf: (item) => item.uri.display,
        transfer: (item, context) => fetchOne(item, context, { drivers: drivers.picker, stateDir, writeBufferBytes, owner, leftover: leftovers.get(stateName(item.uri.fileName)), ranges }),
        failed: (item, error) => ({ role: item.role, uri: item.uri.display, path: item.path, status: 'failed' as const, bytes: 0, error }),
      },
      { concurrency, policy, signal: options.signal, onEvent: options.onEvent, abortedMessage: 'fetch aborted; temporary files removed' },
    );
    // Only files that are there: a failed artifact's path names nothing Flink can use.
    const inPlace = new Set(results.filter((r) => r.status !== 'failed').map((r) => r.path));
    const report: FetchReport = {
      jobJar: plan.job !== undefined && inPlace.has(plan.job.path) ? plan.job.path : null,
      artifacts: plan.artifacts.map((artifact) => artifact.path).filter((path) => inPlace.has(path)),
      fetched: results.filter((r) => r.status === 'fetched').length,
      reused: results.filter((r) => r.status === 'reused').length,
      local: results.filter((r) => r.status === 'local').length,
      bytes: results.reduce((sum, r) => sum + r.bytes, 0),
      targetDir: clusterDir,
      items: results,
    };
    if (results.some((r) => r.status === 'failed')) throw new FetchFailedError(report);
    return report;
  } finally {
    await ownership?.stop();
    await drivers.close();
  }
}

/**
 * Creates a directory and its parents. A recursive mkdir reports a read-only or forbidden
 * parent as ENOENT; this finds the real reason, so the error can say "read-only filesystem".
 *
 * @throws AccessDeniedError or TransferError naming `shown`.
 */
async function ensureDirectory(dir: string, shown: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    let missing = dir;
    while (dirname(missing) !== missing && (await stat(dirname(missing)).catch(() => undefined)) === undefined) missing = dirname(missing);
    const cause = await mkdir(missing).then(
      () => error,
      (real: unknown) => real,
    );
    throw fileSystemError(cause, shown, 'write');
  }
}

/** What every artifact of one fetch shares, and what a killed fetcher left for this one. */
interface Shared {
  readonly drivers: DriverPicker;
  readonly stateDir: string;
  readonly writeBufferBytes: number;
  /** This fetcher's ownership id, in its temporary files' names. */
  readonly owner: string;
  /** A part file of a gone fetcher to continue, if any. */
  readonly leftover: Leftover | undefined;
  /** How large objects are split into parallel ranges. */
  readonly ranges: RangePolicy;
}

async function fetchOne(item: PlannedArtifact, context: TransferContext, shared: Shared): Promise<ArtifactResult> {
  const { uri } = item;
  const driver = await shared.drivers.driverFor(uri.location);
  const base = { role: item.role, uri: uri.display, path: item.path };

  if (item.mode === 'local') {
    // Already in the image: it must exist and be a file, and match a pinned digest if any.
    const info = await context.timed((signal) => driver.stat(uri, { signal }));
    if (info === undefined) throw new ArtifactNotFoundError(`${uri.display}: no such file in the image`);
    if (uri.sha256 !== undefined) await verifyLocalDigest(item.path, uri.sha256, uri.display);
    return { ...base, status: 'local', bytes: 0 };
  }

  const partial = new PartialDownload(shared.stateDir, item.path, uri.display, shared.owner, uriKey(uri.raw));
  // Continued, not started over: the next read asks for the rest of the version it recorded.
  if (shared.leftover !== undefined) await partial.adopt(shared.leftover.part, shared.leftover.record);
  let reuseChecked = false;
  let started = false;
  // Set when a server answered a range request with the whole object: one stream from then on.
  let rangesRefused = false;

  /** The missing ranges of the object, in parallel, each pinned to the version being fetched. */
  const fetchRanges = async (): Promise<void> => {
    const version = partial.expectations?.version;
    const openRange = async (start: number, end: number, signal: AbortSignal): Promise<Readable> => {
      const response = await context.timed((requestSignal) => driver.read(uri, { signal: AbortSignal.any([requestSignal, signal]), start, end, ifMatch: version }));
      if (response.notModified) throw new TransferError(`${uri.display}: unexpected "not modified" to a ranged read`, { retryable: true });
      if (response.start !== start || (response.end !== undefined && response.end !== end)) {
        response.body.destroy();
        // Not a range's failure that a retry of the range mends: the whole object starts over,
        // as one stream (fetchRanges forgets the ranges on ObjectChangedError).
        rangesRefused = true;
        throw new ObjectChangedError(`${uri.display}: the server answered a range request with the whole object (it changed, or it serves no ranges); fetching it again as one stream`);
      }
      return response.body;
    };
    const watch = context.watchIdle('received');
    try {
      await partial.fetchRanges(openRange, {
        parallel: shared.ranges.parallel,
        signal: watch.signal,
        writeBufferBytes: shared.writeBufferBytes,
        onBytes: watch.onBytes,
        retryRange: (attempt) => context.retry(attempt),
      });
    } catch (error) {
      if (error instanceof ObjectChangedError) await partial.reset();
      throw error;
    } finally {
      watch.stop();
    }
  };

  try {
    return await context.retry(async (): Promise<ArtifactResult> => {
      let opened: ReadResult | undefined;
      if (!reuseChecked) {
        const existing = await stat(item.path).catch(() => undefined);
        if (existing?.isFile()) {
          const reuse = await tryReuse(item, existing, driver, context, shared.stateDir);
          if (reuse === 'reused') {
            await keepSourceMode(item, existing);
            return { ...base, status: 'reused', bytes: 0 };
          }
          opened = reuse;
        }
        reuseChecked = true;
      }
      if (partial.ranged && (rangesRefused || shared.ranges.parallel < 2)) await partial.reset();
      if (opened === undefined && partial.ranged) {
        // An earlier attempt's ranges (or a killed fetcher's): only the missing ones are asked for.
        if (!started) context.started(partial.expectations?.size, item.path);
        started = true;
        await fetchRanges();
      } else {
        opened ??= await openRemaining(partial, driver, uri, context);
        if (opened !== undefined) {
          if (opened.start === 0 || partial.expectations === undefined) await partial.begin(opened.object, uri.sha256);
          if (!started) context.started(partial.expectations?.size, item.path);
          started = true;
          if (opened.start === 0 && !rangesRefused && splitsIntoRanges(opened.object, shared.ranges)) {
            // Large: the answer told the size and version; the bytes come in parallel ranges.
            opened.body.destroy();
            await partial.beginRanges(shared.ranges.rangeBytes);
            await fetchRanges();
          } else {
            const watch = context.watchIdle('received');
            try {
              await partial.append(opened.body, { signal: watch.signal, writeBufferBytes: shared.writeBufferBytes, onBytes: watch.onBytes });
            } finally {
              watch.stop();
            }
          }
        }
      }
      const version = partial.expectations?.version;
      await removeRecord(shared.stateDir, uri.fileName);
      const written = await partial.commit(context.signal, await sourceMode(uri.location));
      await saveRecord(item, version, written.checksums, shared.stateDir);
      return { ...base, status: 'fetched', bytes: written.bytes };
    });
  } finally {
    await partial.discard();
  }
}

/**
 * The body still missing: the rest of a cut transfer (a ranged read pinned to the object's
 * version), or the whole object. Undefined when the bytes are all in the temporary file.
 *
 * @throws ObjectChangedError (retryable) after forgetting the partial file, when the object
 *   changed since the transfer began.
 */
async function openRemaining(partial: PartialDownload, driver: StorageDriver, uri: PlannedArtifact['uri'], context: TransferContext): Promise<ReadResult | undefined> {
  const expect = partial.expectations;
  if (partial.resumable && expect !== undefined) {
    if (expect.size === partial.bytes) return undefined;
    if (expect.size === undefined || partial.bytes < expect.size) {
      try {
        const response = await context.timed((signal) => driver.read(uri, { signal, start: partial.bytes, ifMatch: expect.version }));
        if (response.notModified) throw new TransferError(`${uri.display}: unexpected "not modified" to a ranged read`, { retryable: true });
        // The rest (from our last byte) or the whole object again (from 0): nothing else fits the file.
        if (response.start !== 0 && response.start !== partial.bytes) {
          response.body.destroy();
          throw new ObjectChangedError(`${uri.display}: asked for bytes from ${partial.bytes}, the store sent them from ${response.start}`);
        }
        return response;
      } catch (error) {
        if (error instanceof ObjectChangedError) await partial.reset();
        throw error;
      }
    }
    // More bytes than the store announced: nothing of it can be trusted.
    await partial.reset();
  }
  const response = await context.timed((signal) => driver.read(uri, { signal }));
  if (response.notModified) throw new TransferError(`${uri.display}: the store answered "not modified" to an unconditional read`, { retryable: true });
  return response;
}

/**
 * Whether an object comes in parallel ranges: at least two ranges' worth, of a known size and
 * version the store serves ranges of. Below that, one stream is as fast and costs fewer requests.
 */
function splitsIntoRanges(object: RemoteObject, policy: RangePolicy): boolean {
  return policy.parallel > 1 && object.acceptsRanges === true && object.version !== undefined && object.size !== undefined && object.size >= 2 * policy.rangeBytes;
}

/**
 * Decides whether a file already in place is the artifact. With a valid record: a pinned
 * digest that the record verified needs no request; otherwise one conditional read, which
 * either confirms the version or already streams the new content. Without a record: the file
 * is kept only when its size and a checksum the store states (or the pinned digest) match.
 */
async function tryReuse(item: PlannedArtifact, existing: Stats, driver: StorageDriver, context: TransferContext, stateDir: string): Promise<'reused' | ReadResult | undefined> {
  const { uri } = item;
  const record = await readRecord(stateDir, uri.fileName);
  if (record !== undefined && recordMatches(record, uri.raw, existing) && !(await writtenThisBoot(record))) {
    // Written before a reboot, never fsynced: the metadata may survive a crash the data did
    // not. Trust the file only if its content still has the checksums recorded.
    const algorithms = (['sha256', 'md5', 'crc32c'] as const).filter((a) => record.checksums[a] !== undefined);
    const intact = algorithms.length > 0 && compareChecksums(record.checksums, await hashFile(item.path, algorithms)).mismatched.length === 0;
    if (!intact) return undefined;
  }
  if (record !== undefined && recordMatches(record, uri.raw, existing)) {
    if (uri.sha256 !== undefined && record.checksums.sha256 === uri.sha256) return 'reused';
    if (record.version !== undefined) {
      const version = record.version;
      const response = await context.timed((signal) => driver.read(uri, { signal, unlessVersion: version }));
      return response.notModified ? 'reused' : response;
    }
    return undefined;
  }

  // No usable record: prove identity by content, or fetch again. A store that will not say
  // (an HTTP server refusing HEAD, a permission) is no reason to fail: the download decides.
  const remote = await context.timed((signal) => driver.stat(uri, { signal })).catch((error: unknown) => {
    if (isFlinkArtifactsError(error) && error.retryable) throw error;
    return undefined;
  });
  const expected: Checksums = { ...remote?.checksums, ...(uri.sha256 === undefined ? {} : { sha256: uri.sha256 }) };
  if (remote?.size !== existing.size && uri.sha256 === undefined) return undefined;
  const algorithms = algorithmsFor({ stored: remote?.checksums ?? {}, pinnedSha256: uri.sha256 });
  if (algorithms.length === 0) return undefined;
  const actual = await hashFile(item.path, algorithms);
  const { compared, mismatched } = compareChecksums(expected, actual);
  if (compared.length === 0 || mismatched.length > 0) return undefined;
  await saveRecord(item, remote?.version, actual, stateDir);
  return 'reused';
}

async function saveRecord(item: PlannedArtifact, version: string | undefined, checksums: Checksums, stateDir: string): Promise<void> {
  const file = await stat(item.path);
  await writeRecord(stateDir, item.uri.fileName, {
    uri: uriKey(item.uri.raw),
    version,
    checksums,
    size: file.size,
    mtimeMs: file.mtimeMs,
    ino: file.ino,
    bootId: await currentBootId(),
    fetchedAt: new Date().toISOString(),
  }).catch((error: unknown) => {
    throw fileSystemError(error, stateDir, 'write');
  });
}

/**
 * A file:// copy keeps its source's permission bits, never wider: a 0640 key store stays 0640.
 * Other sources get the default (0644 under the usual umask).
 */
async function sourceMode(location: PlannedArtifact['uri']['location']): Promise<number | undefined> {
  if (location.scheme !== 'file') return undefined;
  const info = await stat(location.path).catch(() => undefined);
  return info === undefined ? undefined : info.mode & 0o777;
}

/** A reused file:// copy follows its source's permission bits, as a fresh copy would (a source made private since). */
async function keepSourceMode(item: PlannedArtifact, existing: Stats): Promise<void> {
  const mode = await sourceMode(item.uri.location);
  if (mode === undefined || (existing.mode & 0o777) === mode) return;
  await chmod(item.path, mode).catch((error: unknown) => {
    throw fileSystemError(error, item.path, 'write');
  });
}

async function verifyLocalDigest(path: string, sha256: string, display: string): Promise<void> {
  const actual = await hashFile(path, ['sha256']);
  if (actual.sha256 !== sha256) throw new ChecksumMismatchError(`${display}: SHA-256 is ${actual.sha256}, the URI pins ${sha256}`);
}
