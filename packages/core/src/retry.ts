import type { FlinkConfig } from './config.ts';
import { AbortedError, ConfigError, isFlinkArtifactsError } from './errors.ts';
import { readString } from './options.ts';

/** Our own options, in Flink's style (dotted keys, Flink durations), under our own prefix. */
export const TransferKeys = {
  maxAttempts: 'flink-artifacts.retry.max-attempts',
  initialBackoff: 'flink-artifacts.retry.initial-backoff',
  maxBackoff: 'flink-artifacts.retry.max-backoff',
  deadline: 'flink-artifacts.retry.deadline',
  connectTimeout: 'flink-artifacts.timeout.connect',
  idleTimeout: 'flink-artifacts.timeout.idle',
  caFile: 'flink-artifacts.tls.ca-file',
} as const;

/** How transient failures are retried and how long a stalled transfer is waited for. */
export interface TransferPolicy {
  /** Attempts per artifact, the first included. @default 5 */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubles each time, with full jitter. @default 500 ms */
  readonly initialBackoffMs: number;
  /** @default 10 s */
  readonly maxBackoffMs: number;
  /** No retry starts after this much time since the artifact's first attempt. @default 10 min */
  readonly deadlineMs: number;
  /** Time to connect and get response headers. @default 15 s */
  readonly connectTimeoutMs: number;
  /** Time without a byte of the body before the transfer counts as stalled. @default 60 s */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_TRANSFER_POLICY: TransferPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  deadlineMs: 10 * 60_000,
  connectTimeoutMs: 15_000,
  idleTimeoutMs: 60_000,
};

const UNITS: Record<string, number> = {
  ms: 1,
  milli: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
};

/**
 * Parses a Flink duration ("500 ms", "10s", "5 min", "1 h"; a bare number is milliseconds, as
 * in Flink).
 *
 * @throws ConfigError naming `key`.
 */
export function parseFlinkDuration(value: string, key: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const factor = unit === '' ? 1 : UNITS[unit];
  if (!match || factor === undefined) {
    throw new ConfigError(`${key} must be a duration such as "500 ms", "30 s" or "5 min", got ${JSON.stringify(value)}`, { key });
  }
  return Math.round(Number(match[1]) * factor);
}

function readDuration(config: FlinkConfig, key: string, fallback: number): number {
  const value = readString(config, key);
  if (value === undefined) return fallback;
  const ms = parseFlinkDuration(value, key);
  if (ms <= 0) throw new ConfigError(`${key} must be longer than zero`, { key });
  return ms;
}

/** @throws ConfigError for malformed values. */
export function readTransferPolicy(config: FlinkConfig): TransferPolicy {
  const attempts = readString(config, TransferKeys.maxAttempts);
  const maxAttempts = attempts === undefined ? DEFAULT_TRANSFER_POLICY.maxAttempts : Number(attempts);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw new ConfigError(`${TransferKeys.maxAttempts} must be a whole number from 1 to 100, got ${JSON.stringify(attempts)}`, { key: TransferKeys.maxAttempts });
  }
  return {
    maxAttempts,
    initialBackoffMs: readDuration(config, TransferKeys.initialBackoff, DEFAULT_TRANSFER_POLICY.initialBackoffMs),
    maxBackoffMs: readDuration(config, TransferKeys.maxBackoff, DEFAULT_TRANSFER_POLICY.maxBackoffMs),
    deadlineMs: readDuration(config, TransferKeys.deadline, DEFAULT_TRANSFER_POLICY.deadlineMs),
    connectTimeoutMs: readDuration(config, TransferKeys.connectTimeout, DEFAULT_TRANSFER_POLICY.connectTimeoutMs),
    idleTimeoutMs: readDuration(config, TransferKeys.idleTimeout, DEFAULT_TRANSFER_POLICY.idleTimeoutMs),
  };
}

/** True for failures worth another attempt: the network, timeouts, 429 and 5xx answers, cut bodies. */
export function isTransient(error: unknown): boolean {
  return isFlinkArtifactsError(error) && error.retryable;
}

/** What a retry loop reports before it waits. */
export interface RetryNotice {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
  readonly error: unknown;
}

/** Options of {@link withRetries}. */
export interface WithRetriesOptions {
  readonly policy: TransferPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Called before each wait, to log the reason. */
  readonly onRetry?: ((notice: RetryNotice) => void) | undefined;
  /** Clock and sleep, replaceable in tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Random source for jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails permanently, runs out of attempts or passes the
 * deadline. Waits between attempts grow exponentially with full jitter, so that many init
 * containers restarting together do not retry in step.
 */
export async function withRetries<T>(attempt: (number: number) => Promise<T>, options: WithRetriesOptions): Promise<T> {
  const { policy, signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const started = now();
  for (let number = 1; ; number++) {
    try {
      return await attempt(number);
    } catch (error) {
      if (signal?.aborted || !isTransient(error) || number >= policy.maxAttempts) throw error;
      const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (number - 1));
      const delayMs = Math.round(random() * cap);
      if (now() - started + delayMs > policy.deadlineMs) throw error;
      options.onRetry?.({ attempt: number, maxAttempts: policy.maxAttempts, delayMs, error });
      await sleep(delayMs, signal);
    }
  }
}

/** Waits `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
