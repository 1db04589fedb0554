import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { TransferError, type UploadSource, type WriteOptions } from '@flink-artifacts/core';
import { errorText } from './errors.ts';
import { guardedBody } from './meter.ts';

/**
 * How long the final step of a part upload (S3's CompleteMultipartUpload, Azure's Put Block
 * List) may take. An abort does not cut that step short: once asked, the store may complete it
 * anyway, so it finishes and the upload is reported as done rather than as aborted.
 */
export const FINAL_STEP_TIMEOUT_MS = 60_000;

/** The request bodies of one upload, and how its requests end when the source fails. */
export interface UploadBodies {
  /** The source (or a byte range of it), metered. */
  body(range?: { start: number; end: number }): Readable;
  /** The caller's signal, aborted too when the source fails. */
  readonly signal: AbortSignal;
  /**
   * The error to report: the source's failure (a disk read error: not retryable) when there was
   * one, since the requests only saw it as an abort; else `error` as it is.
   */
  reportable(error: unknown, display: string): unknown;
}

/**
 * A failing source must abort the requests reading it: an SDK would wait for its bytes forever.
 * Bodies come through {@link guardedBody}, whose source errors abort the upload's signal.
 */
export function uploadBodies(source: UploadSource, writeOptions: WriteOptions): UploadBodies {
  const failure = new AbortController();
  let sourceError: Error | undefined;
  return {
    body: (range) =>
      guardedBody(source.open(range), writeOptions.onBytes, (error) => {
        if (failure.signal.aborted) return;
        sourceError = error;
        failure.abort(error);
      }),
    signal: writeOptions.signal === undefined ? failure.signal : AbortSignal.any([writeOptions.signal, failure.signal]),
    reportable(error, display) {
      if (sourceError === undefined) return error;
      return new TransferError(`${display}: reading the upload source failed: ${errorText(sourceError)}`, { cause: sourceError });
    },
  };
}

/** Options of {@link uploadParts}. */
export interface UploadPartsOptions<T> {
  /** The object, for messages: `<display> (part 2 of 5)`. */
  readonly display: string;
  /** What the store calls a part ("part", "block"). */
  readonly noun: string;
  readonly total: number;
  /** Bytes per part: the last one holds the rest. */
  readonly partSize: number;
  /** Parts in flight at once. */
  readonly concurrency: number;
  /** The transfer layer's retry of one part (`WriteOptions.retryPart`), or one attempt. */
  readonly retryPart: WriteOptions['retryPart'];
  readonly signal: AbortSignal | undefined;
  /**
   * Sends one part: `index` from 0, its inclusive byte range, and the signal its request must
   * end with (the caller's, and the upload's end when another part has failed for good).
   */
  send(index: number, range: { start: number; end: number }, signal: AbortSignal): Promise<T>;
  /** The store's typed error for a failed attempt at a part, named `what`. */
  toError(error: unknown, what: string): Error;
}

/**
 * Sends an object's parts, each a byte range of the source, at most `concurrency` at once, each
 * retried alone. A part that has had its retries ends the upload: the parts in flight are
 * stopped and no more start, and its error is made non-retryable, since another round of the
 * whole object would only repeat them.
 *
 * @returns each part's result, in part order.
 */
export async function uploadParts<T>(options: UploadPartsOptions<T>): Promise<T[]> {
  const { total, partSize, signal } = options;
  const count = Math.ceil(total / partSize);
  const retryPart = options.retryPart ?? (<R>(attempt: () => Promise<R>) => attempt());
  const limit = pLimit(options.concurrency);
  const failed = new AbortController();
  const partSignal = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      limit(async () => {
        partSignal.throwIfAborted();
        const start = index * partSize;
        const range = { start, end: Math.min(total, start + partSize) - 1 };
        const what = `${options.display} (${options.noun} ${index + 1} of ${count})`;
        try {
          return await retryPart(() => {
            // Another part failed for good: no further attempt (its reason is not retryable).
            if (failed.signal.aborted) return Promise.reject(failed.signal.reason as Error);
            return options.send(index, range, partSignal).catch((error: unknown) => {
              throw failed.signal.aborted ? failed.signal.reason : options.toError(error, what);
            });
          });
        } catch (error) {
          if (failed.signal.aborted) throw failed.signal.reason;
          const final = error instanceof TransferError && error.retryable && !signal?.aborted
            ? new TransferError(error.message, { cause: error, retryable: false, ...(error.hint ? { hint: error.hint } : {}) })
            : error;
          failed.abort(final);
          throw final;
        }
      }),
    ),
  );
}
