import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortedError,
  AccessDeniedError,
  ChecksumMismatchError,
  SizeMismatchError,
  TransferError,
  compareChecksums,
  createChecksumAccumulator,
  isFlinkArtifactsError,
  type ChecksumAlgorithm,
  type Checksums,
} from '@flink-artifacts/core';

const PART_SUFFIX = '.part';

/** What a verified write must match. */
export interface Expectations {
  /** Byte count the store announced. */
  readonly size: number | undefined;
  /** Checksums stated by the store. */
  readonly stored: Checksums;
  /** SHA-256 pinned in the URI (`#sha256=`). */
  readonly pinnedSha256: string | undefined;
}

/** Result of {@link writeVerified}. */
export interface WrittenFile {
  readonly bytes: number;
  /** The checksums computed over the bytes written (all of them verified). */
  readonly checksums: Checksums;
}

/** Options of {@link writeVerified}. */
export interface WriteVerifiedOptions {
  /** Directory for the temporary file: on the same filesystem as `target`, so rename is atomic. */
  readonly tempDir: string;
  readonly target: string;
  /** The artifact's URI for messages (redacted). */
  readonly display: string;
  readonly expect: Expectations;
  readonly signal?: AbortSignal | undefined;
  /** Called with each chunk's length as it is written. */
  readonly onBytes?: ((bytes: number) => void) | undefined;
}

/**
 * The cheapest set of algorithms that verifies what is known: the pinned SHA-256, and the
 * strongest checksum the store states (CRC32C only when nothing better is stated).
 */
export function algorithmsFor(expect: Expectations): ChecksumAlgorithm[] {
  const algorithms: ChecksumAlgorithm[] = [];
  if (expect.pinnedSha256 !== undefined || expect.stored.sha256 !== undefined) algorithms.push('sha256');
  if (expect.stored.md5 !== undefined && expect.stored.sha256 === undefined) algorithms.push('md5');
  if (expect.stored.crc32c !== undefined && algorithms.length === 0) algorithms.push('crc32c');
  return algorithms;
}

/**
 * Streams `body` into a temporary file beside `target`, checks size and checksums, flushes it
 * to disk and renames it into place. On any failure, abort included, the temporary file is
 * removed and `target` is untouched.
 *
 * @throws SizeMismatchError, ChecksumMismatchError, AbortedError, TransferError (network),
 *   AccessDeniedError/TransferError for the local disk (naming the path).
 */
export async function writeVerified(body: Readable, options: WriteVerifiedOptions): Promise<WrittenFile> {
  const { expect, display } = options;
  const tmp = tempPathFor(options.tempDir, options.target);
  const accumulator = createChecksumAccumulator(algorithmsFor(expect));
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      accumulator.update(chunk);
      bytes += chunk.length;
      options.onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });

  try {
    // `flush` fsyncs before close: a rename must never publish bytes still only in page cache.
    const out = createWriteStream(tmp, { flags: 'wx', flush: true, highWaterMark: 1024 * 1024 });
    await pipeline(body, meter, out, ...(options.signal ? [{ signal: options.signal }] : [])).catch((error: unknown) => {
      throw transferFailure(error, display, tmp, options.signal);
    });
    if (expect.size !== undefined && bytes !== expect.size) {
      throw new SizeMismatchError(`${display}: received ${bytes} bytes, the store announced ${expect.size}`, {
        hint: 'the connection was cut or the object changed while downloading; retry',
      });
    }
    const actual = accumulator.digest();
    if (expect.pinnedSha256 !== undefined && actual.sha256 !== expect.pinnedSha256) {
      throw new ChecksumMismatchError(`${display}: SHA-256 is ${actual.sha256}, the URI pins ${expect.pinnedSha256}`, {
        hint: 'the artifact is not the one the #sha256 fragment names; fix the URI or the artifact',
      });
    }
    const { mismatched } = compareChecksums(expect.stored, actual);
    if (mismatched.length > 0) {
      const algorithm = mismatched[0]!;
      throw new ChecksumMismatchError(`${display}: ${algorithm} is ${actual[algorithm]}, the store states ${expect.stored[algorithm]}`, {
        hint: 'the bytes were corrupted in transit or by a proxy; nothing was saved',
      });
    }
    options.signal?.throwIfAborted();
    await rename(tmp, options.target).catch((error: unknown) => {
      throw diskError(error, options.target);
    });
    return { bytes, checksums: actual };
  } catch (error) {
    await rm(tmp, { force: true });
    if (options.signal?.aborted && !isFlinkArtifactsError(error)) throw new AbortedError(`${display}: aborted`, { cause: error });
    throw error;
  }
}

function transferFailure(error: unknown, display: string, tmp: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new AbortedError(`${display}: aborted`, { cause: error });
  if (isFlinkArtifactsError(error)) return error;
  const errno = error as NodeJS.ErrnoException;
  // The write stream's errors name our temporary file; anything else came from the network.
  if (errno.path === tmp || errno.code === 'ENOSPC' || errno.code === 'EDQUOT' || errno.code === 'EROFS') return diskError(error, tmp);
  const message = error instanceof Error ? error.message || errno.code || error.name : String(error);
  return new TransferError(`${display}: transfer failed: ${message}`, { cause: error });
}

/** A local filesystem error as a typed error naming the path. */
export function diskError(error: unknown, path: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AccessDeniedError(`cannot write ${path}: ${code === 'EROFS' ? 'read-only filesystem' : 'permission denied'}`, {
      cause: error,
      hint: 'the artifacts directory must be writable by this user (user.artifacts.base-dir)',
    });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TransferError(`cannot write ${path}: no space left on device`, { cause: error, hint: 'give the artifacts volume more room' });
  }
  return new TransferError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
}

// <name>.<pid>.<random>.part: the pid lets a later run tell an abandoned file from one that a
// live process is still writing.
function tempPathFor(tempDir: string, target: string): string {
  const name = target.slice(target.lastIndexOf('/') + 1);
  return join(tempDir, `${name}.${process.pid}.${randomBytes(6).toString('hex')}${PART_SUFFIX}`);
}

/**
 * Removes temporary files that no live process is writing: left by a killed run (SIGKILL, OOM,
 * node failure). Files of our own pid are from an earlier incarnation: in a container, a
 * restarted init process usually has the same pid as the killed one.
 */
export async function sweepAbandonedTempFiles(tempDir: string): Promise<number> {
  const names = await readdir(tempDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith(PART_SUFFIX)) continue;
    const pid = Number(/\.(\d+)\.[0-9a-f]+\.part$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
    const path = join(tempDir, name);
    if ((await stat(path).catch(() => undefined))?.isFile()) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
