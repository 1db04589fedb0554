import type { FileHandle } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectChangedError, TransferError } from '@flink-artifacts/core';
import type { ChecksumJob } from './hashing.ts';

/** Which ranges of an object are in the file: complete ones, and the bytes of the rest. */
export interface RangeProgress {
  /** Bytes per range (the last one holds the rest). */
  readonly rangeBytes: number;
  /** Indexes of the ranges wholly written. */
  readonly done: Set<number>;
  /** Bytes written from the start of each range not yet done (kept across attempts). */
  readonly written: Map<number, number>;
  /** Bytes from the file's start already given to the checksum job. */
  hashed: number;
}

/** Options of {@link fillRanges}. */
export interface FillOptions {
  /** Ranges in flight at once. */
  readonly parallel: number;
  /** Ends every range (the batch's abort, the idle watchdog). */
  readonly signal: AbortSignal;
  /** Bytes received (for progress and the idle watchdog). */
  readonly onBytes?: ((bytes: number) => void) | undefined;
  /** Called when a range is complete (to record it for a fetcher that continues after a kill). */
  readonly onRangeDone?: ((index: number) => Promise<void>) | undefined;
  /**
   * The retry policy for one range (the transfer layer's): a range that fails is tried again
   * alone, from its last byte written, while the others go on. @default one attempt
   */
  readonly retryRange?: (<T>(attempt: () => Promise<T>) => Promise<T>) | undefined;
  /** Types a failed attempt (a network error is a retryable TransferError; a disk error is not). */
  readonly toError?: ((error: unknown) => unknown) | undefined;
  /** Whether `job` computes anything: when not, the written bytes are not read back. @default true */
  readonly hashing?: boolean | undefined;
  /** Bytes each range's writer may hold while the disk catches up. */
  readonly writeBufferBytes: number;
}

/**
 * Fills a file of `size` bytes (already that long) with an object's ranges, `parallel` at once,
 * each written at its own offset as it arrives. Ranges are taken in order, so the file fills
 * roughly from the front, and `job` hashes the complete prefix while the rest is still on its
 * way (read back from the page cache): the checksum is ready when the last byte is.
 *
 * A range that fails is retried alone, from its last byte written. One that has had its retries
 * ends the fill (the others stop, their bytes stay counted in `progress`, so a later attempt asks
 * only for what is missing); so does a change of the object (ObjectChangedError), at once.
 *
 * @param openRange a ranged read of `start..end` (inclusive) pinned to the object's version.
 * @throws the first range's failure; TransferError (retryable) for a range cut short.
 */
export async function fillRanges(
  handle: FileHandle,
  size: number,
  progress: RangeProgress,
  job: ChecksumJob,
  openRange: (start: number, end: number, signal: AbortSignal) => Promise<Readable>,
  options: FillOptions,
): Promise<void> {
  const { rangeBytes, done, written } = progress;
  const count = Math.ceil(size / rangeBytes);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  // Nothing to verify but the size (no checksum is known): nothing to read back.
  const follower = new HashFollower(handle, size, job, progress, () => contiguousBytes(progress, size), options.hashing !== false);
  let next = 0;

  const retryRange = options.retryRange ?? (<T>(attempt: () => Promise<T>) => attempt());

  /** One attempt at a range: from its last byte written to its end. */
  const fetchRange = async (index: number, rangeStart: number, end: number): Promise<void> => {
    const already = written.get(index) ?? 0;
    const start = rangeStart + already;
    if (start > end) return;
    const body = await openRange(start, end, signal);
    let received = 0;
    const writer = new PositionalWriter(handle, start, end + 1, options.writeBufferBytes, (bytes) => {
      received += bytes;
      written.set(index, already + received);
      follower.wake();
    });
    body.on('data', (chunk: Buffer) => options.onBytes?.(chunk.length));
    await pipeline(body, writer, { signal }).catch((error: unknown) => {
      throw options.toError === undefined ? error : options.toError(error);
    });
    if (start + received !== end + 1) {
      throw new TransferError(`range ${rangeStart}-${end} ended after ${already + received} of ${end - rangeStart + 1} bytes`, { retryable: true });
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      signal.throwIfAborted();
      const index = next++;
      if (index >= count) return;
      if (done.has(index)) continue;
      const rangeStart = index * rangeBytes;
      const end = Math.min(size, rangeStart + rangeBytes) - 1;
      let changed: ObjectChangedError | undefined;
      try {
        await retryRange(() =>
          fetchRange(index, rangeStart, end).catch((error: unknown) => {
            // A new version: no retry of this range can help; the whole object starts over.
            if (error instanceof ObjectChangedError) {
              changed = error;
              throw new TransferError(error.message, { cause: error, retryable: false });
            }
            // Stopped because another range failed, or the whole fill was (the idle watchdog,
            // the batch's abort): no retry of this range can run, the caller decides.
            if (signal.aborted) throw new TransferError('stopped: the fill was stopped', { cause: error, retryable: false });
            throw error;
          }),
        );
      } catch (error) {
        if (changed !== undefined) throw changed;
        // The range had its retries: another round of the whole object would only repeat them.
        if (error instanceof TransferError && error.retryable && !options.signal.aborted) throw new TransferError(error.message, { cause: error, retryable: false });
        throw error;
      }
      done.add(index);
      written.delete(index);
      follower.wake();
      await options.onRangeDone?.(index);
    }
  };

  const following = follower.run(signal);
  const workers = Promise.all(
    Array.from({ length: Math.min(options.parallel, count) }, async () => {
      try {
        await worker();
      } catch (error) {
        // One range failed: the others stop; what they wrote stays counted.
        stop.abort(error);
        throw error;
      }
    }),
  );
  // The follower reads the file: it must be done with it before the caller closes it, also
  // when a range failed.
  const [filled, hashed] = await Promise.allSettled([workers.finally(() => follower.finish()), following]);
  if (filled.status === 'rejected') throw filled.reason;
  if (hashed.status === 'rejected') throw hashed.reason;
}

/** Bytes from the file's start that are all written: the complete ranges in front, then the first incomplete one's. */
function contiguousBytes(progress: RangeProgress, size: number): number {
  let bytes = 0;
  for (let index = 0; bytes < size; index++) {
    if (!progress.done.has(index)) return Math.min(size, bytes + (progress.written.get(index) ?? 0));
    bytes += progress.rangeBytes;
  }
  return size;
}

/**
 * Feeds the complete prefix of the file to a checksum job, in order, as it grows: the hash
 * needs the bytes in order, the ranges come in any.
 */
class HashFollower {
  readonly #handle: FileHandle;
  readonly #size: number;
  readonly #job: ChecksumJob;
  readonly #contiguous: () => number;
  readonly #progress: RangeProgress;
  readonly #enabled: boolean;
  #wakeUp: (() => void) | undefined;
  #finished = false;

  constructor(handle: FileHandle, size: number, job: ChecksumJob, progress: RangeProgress, contiguous: () => number, enabled: boolean) {
    this.#enabled = enabled;
    this.#handle = handle;
    this.#size = size;
    this.#job = job;
    this.#progress = progress;
    this.#contiguous = contiguous;
  }

  wake(): void {
    this.#wakeUp?.();
  }

  /** No more bytes will come (done, or failed): the loop ends once it has hashed what is there. */
  finish(): void {
    this.#finished = true;
    this.wake();
  }

  async run(signal: AbortSignal): Promise<void> {
    const chunkBytes = 1024 * 1024;
    const progress = this.#progress;
    if (!this.#enabled) return;
    while (progress.hashed < this.#size) {
      const available = this.#contiguous();
      if (available > progress.hashed) {
        // A fresh buffer each time: the job may keep the chunk until its batch is sent.
        const length = Math.min(chunkBytes, available - progress.hashed);
        const { bytesRead, buffer } = await this.#handle.read(Buffer.allocUnsafe(length), 0, length, progress.hashed);
        if (bytesRead === 0) break;
        this.#job.update(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
        progress.hashed += bytesRead;
        continue;
      }
      if (this.#finished || signal.aborted) return;
      await new Promise<void>((resolve) => {
        this.#wakeUp = resolve;
      });
      this.#wakeUp = undefined;
    }
  }
}

/**
 * A Writable that writes at a position of an open file and moves on, reporting each write
 * only once it is done: bytes are counted when they are in the file, never before.
 */
class PositionalWriter extends Writable {
  readonly #handle: FileHandle;
  #position: number;
  /** Offset past the range's last byte: a body that runs beyond it is not this range. */
  readonly #limit: number;
  readonly #onWritten: (bytes: number) => void;

  constructor(handle: FileHandle, position: number, limit: number, highWaterMark: number, onWritten: (bytes: number) => void) {
    super({ highWaterMark });
    this.#handle = handle;
    this.#position = position;
    this.#limit = limit;
    this.#onWritten = onWritten;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    const bytes = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (this.#position + bytes > this.#limit) {
      // More than the range asked for (a server that answered with something else): nothing of
      // it is written, and the object starts over.
      callback(new ObjectChangedError(`a range ending at byte ${this.#limit - 1} got a longer body: the server did not serve the range asked for`));
      return;
    }
    this.#writeAll(buffers).then(() => callback(), callback);
  }

  /** pwritev may write less than asked (a signal, a nearly full disk): the rest follows. */
  async #writeAll(buffers: Buffer[]): Promise<void> {
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.#handle.writev(pending, this.#position);
      if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      this.#position += bytesWritten;
      this.#onWritten(bytesWritten);
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const buffer of pending) {
        if (skip >= buffer.length) {
          skip -= buffer.length;
          continue;
        }
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
      pending = rest;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }
}
