import pLimit from 'p-limit';
import type { FlinkConfig } from './config.ts';
import type { DriverPicker } from './driver.ts';
import { AbortedError, TransferError, describeError, failureSummary } from './errors.ts';
import { withRetries, type TransferPolicy } from './retry.ts';

/** The options every batch API takes (fetch, upload), whatever it moves. */
export interface TransferOptions<R> {
  /** Flink configuration (merged: config file, then `-D`). */
  readonly config: FlinkConfig;
  /** JOB_URI. @default the single entry of `pipeline.jars` */
  readonly jobUri?: string | undefined;
  /** Transfers at once. @default 8 */
  readonly concurrency?: number | undefined;
  /** Aborts every transfer; temporary files are removed, multipart uploads aborted. */
  readonly signal?: AbortSignal | undefined;
  /** Progress events. Must not throw. */
  readonly onEvent?: ((event: TransferEvent<R>) => void) | undefined;
  /** Storage drivers. @default built from `config` */
  readonly drivers?: DriverPicker | undefined;
  /** Retries and timeouts. @default from `flink-artifacts.retry.*` / `flink-artifacts.timeout.*` */
  readonly policy?: TransferPolicy | undefined;
}

/**
 * What every batch of transfers reports as it goes (fetch and upload alike), for progress bars
 * and logs. `R` is the batch's per-artifact result.
 */
export type TransferEvent<R> =
  | { readonly type: 'planned'; readonly total: number }
  | { readonly type: 'start'; readonly uri: string; readonly size: number | undefined; readonly path?: string | undefined }
  | { readonly type: 'progress'; readonly uri: string; readonly bytes: number }
  | { readonly type: 'retry'; readonly uri: string; readonly attempt: number; readonly maxAttempts: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'done'; readonly result: R };

/** What every per-artifact result has. */
export interface TransferResult {
  readonly status: string;
  /** Bytes moved for this artifact. */
  readonly bytes: number;
  /** Why it failed: stable code and message naming the artifact. */
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

/** Watches a body in flight: aborts when no byte has moved for the idle timeout. */
export interface IdleWatch {
  /** Aborted (with a retryable TransferError) when the transfer stalls, or when the batch is. */
  readonly signal: AbortSignal;
  /** Counts bytes as they move (and reports them as progress). */
  readonly onBytes: (bytes: number) => void;
  /** Stops watching. Call when the body is done, whatever happened. */
  stop(): void;
}

/** What the engine gives one artifact's transfer: the policy, applied the same way for every store. */
export interface TransferContext {
  /** The artifact as shown in messages (credentials masked). */
  readonly display: string;
  readonly policy: TransferPolicy;
  /** Aborted on SIGTERM/SIGINT or by the caller. */
  readonly signal: AbortSignal | undefined;
  /** Runs attempts as the policy says (backoff, deadline), each retry reported. */
  retry<T>(attempt: (number: number) => Promise<T>): Promise<T>;
  /**
   * Bounds a request phase (connecting, sending, getting the answer's headers) by the connect
   * timeout: a server that accepts and says nothing must not hang an init container.
   */
  timed<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Watches a body in flight (an upload's request body, a download's response) for stalls. */
  watchIdle(verb: 'sent' | 'received'): IdleWatch;
  /** Reports that the bytes start moving. */
  started(size: number | undefined, path?: string): void;
  /** Reports bytes moved (when not reported by an {@link IdleWatch}). */
  progressed(bytes: number): void;
}

/** A batch: the artifacts, how to move one, and how a failure reads in its report. */
export interface TransferBatch<I, R extends TransferResult> {
  readonly items: readonly I[];
  /** The artifact as shown in messages. */
  displayOf(item: I): string;
  /** Moves one artifact. Its failures become {@link failed} results; they never stop the batch. */
  transfer(item: I, context: TransferContext): Promise<R>;
  /** The result of an artifact that failed. */
  failed(item: I, error: { readonly code: string; readonly message: string }): R;
}

/** How a batch runs. */
export interface TransferRunOptions<R> {
  /** Transfers at once. */
  readonly concurrency: number;
  readonly policy: TransferPolicy;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((event: TransferEvent<R>) => void) | undefined;
  /** The message of the AbortedError when the batch is aborted ("fetch aborted; temporary files removed"). */
  readonly abortedMessage: string;
}

/**
 * Runs a batch of transfers, the one loop behind fetch, upload and the pre-submit check: at most
 * `concurrency` at once, each with the retry policy, the request-phase and idle timeouts, and
 * the abort signal; events for each; one result per artifact, in order, a failure of one never
 * stopping the others.
 *
 * @returns the results, in the order of `items`.
 * @throws AbortedError when the signal aborted (after every running transfer has stopped).
 */
export async function runTransfers<I, R extends TransferResult>(batch: TransferBatch<I, R>, options: TransferRunOptions<R>): Promise<R[]> {
  const emit = options.onEvent ?? (() => undefined);
  const { signal, policy } = options;
  emit({ type: 'planned', total: batch.items.length });
  const limit = pLimit(options.concurrency);
  const results = await Promise.all(
    batch.items.map((item) =>
      limit(async (): Promise<R> => {
        const display = batch.displayOf(item);
        let result: R;
        try {
          signal?.throwIfAborted();
          result = await batch.transfer(item, contextFor(display, policy, signal, emit));
        } catch (error) {
          result = batch.failed(item, failureSummary(error, display, signal?.aborted === true));
        }
        emit({ type: 'done', result });
        return result;
      }),
    ),
  );
  if (signal?.aborted) {
    // What finished before the signal stays finished: say so, rather than let "aborted" suggest
    // that nothing changed.
    const finished = results.flatMap((result, index) => (result.error === undefined ? [`${batch.displayOf(batch.items[index]!)} (${result.status})`] : []));
    throw new AbortedError(finished.length === 0 ? options.abortedMessage : `${options.abortedMessage}; finished before the signal, and kept: ${finished.join(', ')}`);
  }
  return results;
}

function contextFor<R>(display: string, policy: TransferPolicy, signal: AbortSignal | undefined, emit: (event: TransferEvent<R>) => void): TransferContext {
  const progressed = (bytes: number): void => emit({ type: 'progress', uri: display, bytes });
  return {
    display,
    policy,
    signal,
    retry: (attempt) =>
      withRetries(attempt, {
        policy,
        signal,
        onRetry: (notice) => emit({ type: 'retry', uri: display, attempt: notice.attempt, maxAttempts: notice.maxAttempts, delayMs: notice.delayMs, reason: describeError(notice.error) }),
      }),
    timed: (request) => withRequestTimeout(request, policy.connectTimeoutMs, signal, display),
    watchIdle: (verb) => watchIdle(display, verb, policy.idleTimeoutMs, signal, progressed),
    started: (size, path) => emit({ type: 'start', uri: display, size, ...(path === undefined ? {} : { path }) }),
    progressed,
  };
}

/**
 * Bounds a request phase by `ms`. The request gets a signal that aborts at the deadline (and
 * with the batch); some SDK calls take none, so the wait itself also ends there.
 *
 * @throws TransferError (retryable) naming `display` when no answer came in time.
 */
export async function withRequestTimeout<T>(request: (signal: AbortSignal) => Promise<T>, ms: number, outer: AbortSignal | undefined, display: string): Promise<T> {
  const controller = new AbortController();
  const timeout = new TransferError(`${display}: no answer within ${formatSeconds(ms)}`, { retryable: true });
  const timer = setTimeout(() => controller.abort(timeout), ms);
  const signal = outer === undefined ? controller.signal : AbortSignal.any([outer, controller.signal]);
  const expired = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(timeout), { once: true }));
  try {
    return await Promise.race([request(signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An idle watchdog. It looks at a timestamp every quarter of the timeout instead of re-arming
 * a timer per chunk (a gigabyte is 16,000 chunks).
 */
function watchIdle(display: string, verb: 'sent' | 'received', idleMs: number, outer: AbortSignal | undefined, progressed: (bytes: number) => void): IdleWatch {
  const controller = new AbortController();
  let last = Date.now();
  const check = setInterval(() => {
    if (Date.now() - last >= idleMs) {
      controller.abort(new TransferError(`${display}: no data ${verb} for ${formatSeconds(idleMs)}, the transfer stalled`, { retryable: true }));
    }
  }, Math.max(10, Math.floor(idleMs / 4)));
  const signal = outer === undefined ? controller.signal : AbortSignal.any([outer, controller.signal]);
  const stop = (): void => clearInterval(check);
  signal.addEventListener('abort', stop, { once: true });
  return {
    signal,
    onBytes(bytes) {
      last = Date.now();
      progressed(bytes);
    },
    stop,
  };
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
