import { constants, type WriteStream } from 'node:fs';
import { chmod, lstat, open, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortedError,
  ChecksumMismatchError,
  SizeMismatchError,
  TransferError,
  compareChecksums,
  fileSystemError,
  isFlinkArtifactsError,
  type ChecksumAlgorithm,
  type Checksums,
  type RemoteObject,
} from '@flink-artifacts/core';
import { createChecksumJob, type ChecksumJob } from './hashing.ts';
import { fillRanges, type RangeProgress } from './ranged-fill.ts';
import { currentBootId } from './record.ts';
import { removeFile } from './remove-file.ts';
import { stateName } from './state-names.ts';

const PART_SUFFIX = '.part';
// The temporary file is opened without following a symbolic link at its name: one planted there
// in a shared directory must not send our bytes somewhere else.
const { O_CREAT, O_WRONLY, O_RDWR, O_RDONLY, O_TRUNC, O_APPEND, O_NOFOLLOW } = constants;
const CREATE_NOFOLLOW = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW;
const APPEND_NOFOLLOW = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;
/** How often a ranged transfer records the progress of its ranges in flight. */
const RECORD_INTERVAL_MS = 1000;

/**
 * The ranges a killed fetcher recorded, as far as they make sense for an object of `size`
 * bytes: a record is only a hint, and a range it misstates is fetched again whole.
 */
function restoredRanges(recorded: NonNullable<PartRecord['ranges']>, size: number): RangeProgress {
  const { rangeBytes } = recorded;
  const count = Math.ceil(size / rangeBytes);
  const validIndex = (index: number): boolean => Number.isSafeInteger(index) && index >= 0 && index < count;
  const done = new Set(recorded.done.filter(validIndex));
  const written = new Map<number, number>();
  for (const [key, bytes] of Object.entries(recorded.written ?? {})) {
    const index = Number(key);
    const length = Math.min(size, (index + 1) * rangeBytes) - index * rangeBytes;
    if (validIndex(index) && !done.has(index) && Number.isSafeInteger(bytes) && bytes > 0 && bytes < length) written.set(index, bytes);
  }
  return { rangeBytes, done, written, hashed: 0 };
}

/** What the finished file must match, fixed by the first response of a transfer. */
export interface Expectations {
  /** Byte count the store announced. */
  readonly size: number | undefined;
  /** Checksums stated by the store. */
  readonly stored: Checksums;
  /** SHA-256 pinned in the URI (`#sha256=`). */
  readonly pinnedSha256: string | undefined;
  /** The object's version, for resuming with a ranged request. */
  readonly version: string | undefined;
}

/**
 * The cheapest set of algorithms that verifies what is known: the pinned SHA-256, and the
 * strongest checksum the store states (CRC32C only when nothing better is stated).
 */
export function algorithmsFor(expect: Pick<Expectations, 'stored' | 'pinnedSha256'>): ChecksumAlgorithm[] {
  const algorithms: ChecksumAlgorithm[] = [];
  if (expect.pinnedSha256 !== undefined || expect.stored.sha256 !== undefined) algorithms.push('sha256');
  if (expect.stored.md5 !== undefined && expect.stored.sha256 === undefined) algorithms.push('md5');
  if (expect.stored.crc32c !== undefined && algorithms.length === 0) algorithms.push('crc32c');
  return algorithms;
}

/** Options of {@link PartialDownload.append}. */
export interface AppendOptions {
  /**
   * Ends the body: the batch's abort, or the engine's idle watchdog (whose reason, a retryable
   * TransferError, becomes the failure).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Bytes the file writer may hold while the disk catches up. A large buffer lets the
   * network run on while writes (and the kernel's writeback) stall for a moment.
   * @default 4 MiB
   */
  readonly writeBufferBytes?: number;
  readonly onBytes?: ((bytes: number) => void) | undefined;
}

/**
 * What a partial file holds, kept beside it (`<part>.json`) so that a fetcher restarted after a
 * kill can continue it: whose bytes they are (the URI, hashed) and which version of the object.
 */
export interface PartRecord extends Expectations {
  /** SHA-256 of the URI text. */
  readonly uri: string;
  /** The boot the bytes were written in: after a reboot, unsynced bytes may be holes. */
  readonly bootId: string | undefined;
  /**
   * A transfer in parallel ranges: the range size, the ranges wholly written, and the bytes
   * written from the start of each range in flight (by index; saved every second, so at most
   * a second's worth is fetched again after a kill).
   */
  readonly ranges?: { readonly rangeBytes: number; readonly done: readonly number[]; readonly written?: Readonly<Record<string, number>> } | undefined;
}

/** The part file of an artifact's file name for an owner: `<name>.<owner>.part` (`<name>` as {@link stateName} gives it). */
export function partName(fileName: string, owner: string): string {
  return `${stateName(fileName)}.${owner}${PART_SUFFIX}`;
}

/** `<name>.<owner>.part` -> name (the {@link stateName}) and owner; undefined for other files. */
export function parsePartName(name: string): { fileName: string; owner: string } | undefined {
  const match = /^(.+)\.([0-9a-f]{12})\.part$/.exec(name);
  return match === null ? undefined : { fileName: match[1]!, owner: match[2]! };
}

/** The sidecar record of a part file. */
export function partRecordPath(part: string): string {
  return `${part}.json`;
}

/**
 * One artifact's download in progress: a temporary file beside the target (same filesystem, so
 * the final rename is atomic), the bytes written so far and their running checksums. A cut
 * transfer keeps what arrived, so the next attempt can ask for the rest; nothing appears under
 * the final name until `commit` has verified the whole.
 */
export class PartialDownload {
  readonly tmp: string;
  readonly #record: string;
  readonly #target: string;
  readonly #display: string;
  readonly #uriKey: string;
  #expect: Expectations | undefined;
  #job: ChecksumJob | undefined;
  #bytes = 0;
  /** Set when the object comes in parallel ranges: which are in the file. */
  #ranges: RangeProgress | undefined;
  /** Whether the temporary file may exist (saves a syscall per artifact when it cannot). */
  #written = false;

  /**
   * @param owner this fetcher's ownership id: the part is `<name>.<owner>.part`, which no other
   *   fetcher sharing the directory touches while this one lives.
   * @param uriKey the hashed URI, recorded with the part.
   */
  constructor(tempDir: string, target: string, display: string, owner: string, uriKey: string) {
    this.tmp = join(tempDir, partName(basename(target), owner));
    this.#record = partRecordPath(this.tmp);
    this.#target = target;
    this.#display = display;
    this.#uriKey = uriKey;
  }

  /**
   * Continues the part file a killed fetcher left (moved under this one's name): its bytes
   * count, its record says which version they belong to, and the next read asks for the rest.
   *
   * @returns false when there is nothing to continue (another fetcher took the part first, or
   *   its record is unusable): the download starts from nothing.
   */
  async adopt(part: string, record: PartRecord): Promise<boolean> {
    // Only a plain file of our own user is continued (never a link planted in its place).
    const info = await lstat(part).catch(() => undefined);
    if (info === undefined || !info.isFile() || (process.getuid !== undefined && info.uid !== process.getuid())) {
      await removeFile(part);
      await removeFile(partRecordPath(part));
      return false;
    }
    const ranges = record.ranges;
    const rangesUsable = ranges === undefined || (record.size !== undefined && Number.isSafeInteger(ranges.rangeBytes) && ranges.rangeBytes > 0 && Array.isArray(ranges.done));
    try {
      await rename(part, this.tmp);
    } catch (error) {
      // Another fetcher sharing the directory took it first: this one starts afresh.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fileSystemError(error, part, 'write');
    }
    await removeFile(partRecordPath(part));
    this.#written = true;
    if (!rangesUsable) {
      await this.reset();
      return false;
    }
    this.#expect = { size: record.size, stored: record.stored, pinnedSha256: record.pinnedSha256, version: record.version };
    if (ranges !== undefined && record.size !== undefined) {
      // A ranged transfer: the file has its full length, holes included; its record says which
      // ranges are in. Those are kept, the rest fetched again.
      this.#ranges = restoredRanges(ranges, record.size);
      this.#bytes = 0;
    } else {
      this.#bytes = (await stat(this.tmp)).size;
    }
    this.#job = undefined;
    await this.#saveRecord();
    return true;
  }

  /** Record writes, one after another: ranges finishing together must not interleave them. */
  #saving: Promise<void> = Promise.resolve();

  #saveRecord(): Promise<void> {
    const next = this.#saving.then(() => this.#writeRecord());
    this.#saving = next.catch(() => undefined);
    return next;
  }

  async #writeRecord(): Promise<void> {
    const expect = this.#expect;
    if (expect === undefined) return;
    const ranges = this.#ranges;
    const record: PartRecord = {
      ...expect,
      uri: this.#uriKey,
      bootId: await currentBootId(),
      ...(ranges === undefined
        ? {}
        : { ranges: { rangeBytes: ranges.rangeBytes, done: [...ranges.done].sort((a, b) => a - b), written: Object.fromEntries(ranges.written) } }),
    };
    // Whole or not at all (a fetcher killed mid-write, or one reading it, never sees half).
    const tmp = `${this.#record}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record))
      .then(() => rename(tmp, this.#record))
      .catch((error: unknown) => {
        throw fileSystemError(error, this.#record, 'write');
      });
  }

  /** Bytes safely in the temporary file. */
  get bytes(): number {
    return this.#bytes;
  }

  /** What the first response said, if a transfer has begun. */
  get expectations(): Expectations | undefined {
    return this.#expect;
  }

  /** Starts (or starts over) a transfer of the object the store described. */
  async begin(object: RemoteObject, pinnedSha256: string | undefined): Promise<void> {
    await this.reset();
    this.#expect = { size: object.size, stored: object.checksums, pinnedSha256, version: object.version };
    this.#job = createChecksumJob(algorithmsFor(this.#expect), object.size);
    await this.#saveRecord();
  }

  /** True when a cut transfer can continue with a ranged request from {@link bytes}. */
  get resumable(): boolean {
    return this.#ranges === undefined && this.#bytes > 0 && this.#expect?.version !== undefined;
  }

  /** True when the object is coming in parallel ranges (this attempt's, an earlier one's, or a killed fetcher's). */
  get ranged(): boolean {
    return this.#ranges !== undefined;
  }

  /**
   * Switches a transfer just begun to parallel ranges: the temporary file gets the object's
   * full length, to be filled at each range's offset.
   */
  async beginRanges(rangeBytes: number): Promise<void> {
    const size = this.#expect?.size;
    if (size === undefined) throw new Error('beginRanges before begin, or without a size');
    const handle = await open(this.tmp, CREATE_NOFOLLOW).catch((error: unknown) => {
      throw fileSystemError(error, `${this.#display} to ${this.#target}`, 'write');
    });
    this.#written = true;
    try {
      await handle.truncate(size);
    } catch (error) {
      throw fileSystemError(error, `${this.#display} to ${this.#target}`, 'write');
    } finally {
      await handle.close();
    }
    this.#ranges = { rangeBytes, done: new Set(), written: new Map(), hashed: 0 };
    await this.#saveRecord();
  }

  /**
   * Fetches the ranges not yet in the file, `parallel` at once, hashing the complete prefix
   * meanwhile. A failed attempt keeps every byte written (and the hash so far) for the next.
   *
   * @param openRange a ranged read of `start..end` pinned to the version being fetched.
   * @throws TransferError (network, retryable; local disk, not), ObjectChangedError, AbortedError.
   */
  async fetchRanges(
    openRange: (start: number, end: number, signal: AbortSignal) => Promise<Readable>,
    options: AppendOptions & { readonly parallel: number; readonly signal: AbortSignal; readonly retryRange?: <T>(attempt: () => Promise<T>) => Promise<T> },
  ): Promise<void> {
    const expect = this.#expect;
    const ranges = this.#ranges;
    if (expect?.size === undefined || ranges === undefined) throw new Error('fetchRanges before beginRanges');
    if (this.#job === undefined) {
      this.#job = createChecksumJob(algorithmsFor(expect), expect.size);
      ranges.hashed = 0;
    }
    const handle = await open(this.tmp, O_RDWR | O_NOFOLLOW).catch((error: unknown) => {
      throw fileSystemError(error, `${this.#display} to ${this.#target}`, 'write');
    });
    // What the ranges in flight have written, for a fetcher that continues after a kill.
    const saving = setInterval(() => void this.#saveRecord().catch(() => undefined), RECORD_INTERVAL_MS);
    saving.unref();
    try {
      await fillRanges(handle, expect.size, ranges, this.#job, openRange, {
        parallel: options.parallel,
        signal: options.signal,
        onBytes: options.onBytes,
        // The transfer's write budget shared by its ranges: eight ranges of eight objects at
        // once must not hold eight times the budget the fetch planned for.
        writeBufferBytes: Math.max(128 * 1024, Math.floor((options.writeBufferBytes ?? 1024 * 1024) / options.parallel)),
        onRangeDone: () => this.#saveRecord(),
        retryRange: options.retryRange,
        toError: (error) => this.#failure(error, options.signal),
        hashing: algorithmsFor(expect).length > 0,
      });
      this.#bytes = expect.size;
    } catch (error) {
      throw this.#failure(error, options.signal);
    } finally {
      clearInterval(saving);
      await handle.close();
    }
  }

  /** Forgets the bytes received so far. */
  async reset(): Promise<void> {
    if (this.#written) await removeFile(this.tmp);
    if (this.#expect !== undefined) await removeFile(this.#record);
    this.#written = false;
    this.#bytes = 0;
    this.#ranges = undefined;
    this.#job?.close();
    this.#job = undefined;
    this.#expect = undefined;
  }

  /**
   * Appends a body to the temporary file. On failure the bytes that reached the file stay
   * counted, ready for a ranged retry.
   *
   * @throws TransferError (network, retryable; stall, retryable; local disk, not retryable),
   *   AbortedError.
   */
  async append(body: Readable, options: AppendOptions): Promise<void> {
    if (this.#expect === undefined) throw new Error('append before begin');
    // After a failure the running checksum may have seen bytes that never reached the file:
    // the file is the truth, so the checksum is rebuilt from it before more is appended.
    if (this.#job === undefined) await this.#rehash();
    const job = this.#job!;
    // Hashing and counting listen to the body's chunks beside the pipe: a Transform in between
    // would add a small buffer that pauses the socket every few kilobytes.
    const observe = (chunk: Buffer): void => {
      job.update(chunk);
      options.onBytes?.(chunk.length);
    };
    // No fsync here: a process kill keeps the page cache, and after a machine crash (which
    // loses it) the fetch record's boot id makes the next run verify the file's content
    // before trusting it. Waiting for the disk on every file would cost more than the network.
    this.#written = true;
    let out: WriteStream | undefined;
    try {
      const file = await open(this.tmp, this.#bytes === 0 ? CREATE_NOFOLLOW : APPEND_NOFOLLOW);
      out = file.createWriteStream({ highWaterMark: options.writeBufferBytes ?? 4 * 1024 * 1024 });
      // Only now: a 'data' listener starts the body flowing, and nothing may flow past the file.
      body.on('data', observe);
      await pipeline(body, out, ...(options.signal ? [{ signal: options.signal }] : []));
      this.#bytes += out.bytesWritten;
    } catch (error) {
      if (out === undefined) body.destroy();
      job.close();
      this.#job = undefined;
      this.#bytes = (await stat(this.tmp).catch(() => undefined))?.size ?? 0;
      throw this.#failure(error, options.signal);
    } finally {
      body.off('data', observe);
    }
  }

  async #rehash(): Promise<void> {
    const job = createChecksumJob(algorithmsFor(this.#expect!), this.#expect!.size);
    if (this.#bytes > 0) {
      const file = await open(this.tmp, O_RDONLY | O_NOFOLLOW);
      for await (const chunk of file.createReadStream({ end: this.#bytes - 1, highWaterMark: 1024 * 1024 })) job.update(chunk as Buffer);
    }
    this.#job = job;
  }

  /**
   * Verifies size and checksums, then renames the file into place, with `mode` (permission
   * bits) if given.
   *
   * @throws SizeMismatchError (retryable: the body was cut), ChecksumMismatchError.
   */
  async commit(signal?: AbortSignal, mode?: number): Promise<{ bytes: number; checksums: Checksums }> {
    const expect = this.#expect;
    const job = this.#job;
    if (expect === undefined || job === undefined) throw new Error('commit before begin');
    const display = this.#display;
    if (expect.size !== undefined && this.#bytes !== expect.size) {
      throw new SizeMismatchError(`${display}: received ${this.#bytes} bytes, the store announced ${expect.size}`, {
        hint: 'the connection was cut; the next attempt asks for the rest',
      });
    }
    const actual = await job.digest();
    // A digest is final: should anything follow, the checksum is rebuilt from the file.
    this.#job = undefined;
    if (expect.pinnedSha256 !== undefined && actual.sha256 !== expect.pinnedSha256) {
      await this.reset();
      throw new ChecksumMismatchError(`${display}: SHA-256 is ${actual.sha256}, the URI pins ${expect.pinnedSha256}`, {
        hint: 'the artifact is not the one the #sha256 fragment names; fix the URI or the artifact',
      });
    }
    const { mismatched } = compareChecksums(expect.stored, actual);
    if (mismatched.length > 0) {
      const algorithm = mismatched[0]!;
      await this.reset();
      throw new ChecksumMismatchError(`${display}: ${algorithm} is ${actual[algorithm]}, the store states ${expect.stored[algorithm]}`, {
        hint: 'the bytes were corrupted in transit or by a proxy; nothing was saved',
      });
    }
    signal?.throwIfAborted();
    if (mode !== undefined) {
      await chmod(this.tmp, mode).catch((error: unknown) => {
        throw fileSystemError(error, this.#target, 'write');
      });
    }
    await rename(this.tmp, this.#target).catch((error: unknown) => {
      throw fileSystemError(error, this.#target, 'write');
    });
    await removeFile(this.#record);
    this.#written = false;
    return { bytes: this.#bytes, checksums: actual };
  }

  /** Removes the temporary file (after success it is already gone) and stops any hashing. */
  async discard(): Promise<void> {
    this.#job?.close();
    this.#job = undefined;
    if (this.#written) await removeFile(this.tmp);
    if (this.#expect !== undefined) await removeFile(this.#record);
    this.#written = false;
  }

  #failure(error: unknown, signal: AbortSignal | undefined): Error {
    const display = this.#display;
    // A stall (the idle watchdog's reason) is retryable; an abort of the batch is not.
    if (signal?.aborted) return isFlinkArtifactsError(signal.reason) ? signal.reason : new AbortedError(`${display}: aborted`, { cause: error });
    if (isFlinkArtifactsError(error)) return error;
    const errno = error as NodeJS.ErrnoException;
    // The write stream's errors name our temporary file; anything else came from the network.
    // Named by what the user asked for (the URI and where it goes), not by our temporary file.
    if (errno.path === this.tmp || errno.code === 'ENOSPC' || errno.code === 'EDQUOT' || errno.code === 'EROFS') return fileSystemError(error, `${display} to ${this.#target}`, 'write');
    return new TransferError(`${display}: transfer failed: ${networkFailure(error)}`, { cause: error, retryable: true });
  }
}

/** A network error in words: Node says "aborted" for a body the server cut short. */
function networkFailure(error: unknown): string {
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'ECONNRESET') return 'the server reset the connection';
  if (errno.code === 'ERR_STREAM_PREMATURE_CLOSE' || errno.message === 'aborted') return 'the connection closed before the whole body arrived';
  return error instanceof Error ? error.message || errno.code || error.name : String(error);
}
