/**
 * One error tree for every package. Each class has a fixed `name` and a stable `code` that
 * scripts can match on; `kind` says whether the user asked for something impossible (`usage`:
 * bad options, bad URIs, exit 2) or the world failed (`runtime`: missing object, network, exit 1).
 */

/** Whether an error is the caller's input (`usage`, exit 2) or a failure while doing the work (`runtime`, exit 1). */
export type ErrorKind = 'usage' | 'runtime';

const brand = Symbol.for('flink-artifacts.error');

/** Options every flink-artifacts error accepts. */
export interface FlinkArtifactsErrorOptions {
  /** The underlying error, kept for debugging; never printed verbatim by the CLI. */
  cause?: unknown;
  /** One sentence telling the user what to do about it. */
  hint?: string;
  /**
   * Whether another attempt may succeed (network, timeout, 429/5xx, a cut body). Permanent
   * failures (not found, denied, checksum mismatch, bad input) are not retried.
   * @default false
   */
  retryable?: boolean;
}

/** Base class of every error this project throws on purpose. */
export class FlinkArtifactsError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly [brand] = true;

  constructor(code: string, kind: ErrorKind, message: string, options: FlinkArtifactsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlinkArtifactsError';
    this.code = code;
    this.kind = kind;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * True for errors of this project, also when they come from another copy of this package
 * (two versions in one node_modules), where `instanceof` would say no.
 */
export function isFlinkArtifactsError(value: unknown): value is FlinkArtifactsError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** A Flink option is missing, malformed or contradicts another. Names the key. */
export class ConfigError extends FlinkArtifactsError {
  readonly key: string | undefined;
  constructor(message: string, options: FlinkArtifactsErrorOptions & { key?: string } = {}) {
    super('ERR_CONFIG', 'usage', message, options);
    this.name = 'ConfigError';
    this.key = options.key;
  }
}

/** The command line itself is wrong (unknown option, missing argument). */
export class UsageError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_USAGE', 'usage', message, options);
    this.name = 'UsageError';
  }
}

/** A URI that cannot be parsed, or whose parts make no sense for its scheme. */
export class InvalidUriError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_INVALID_URI', 'usage', message, options);
    this.name = 'InvalidUriError';
  }
}

/** A URI whose scheme no driver handles. */
export class UnsupportedSchemeError extends FlinkArtifactsError {
  readonly scheme: string;
  constructor(message: string, scheme: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_UNSUPPORTED_SCHEME', 'usage', message, options);
    this.name = 'UnsupportedSchemeError';
    this.scheme = scheme;
  }
}

/** A plain `http://` URI while `user.artifacts.raw-http-enabled` is false. */
export class RawHttpDisabledError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_RAW_HTTP_DISABLED', 'usage', message, options);
    this.name = 'RawHttpDisabledError';
  }
}

/** Two different URIs would land on the same file name. */
export class NameClashError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_NAME_CLASH', 'usage', message, options);
    this.name = 'NameClashError';
  }
}

/** A file name that would escape the target directory or is not a plain name. */
export class UnsafePathError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_UNSAFE_PATH', 'usage', message, options);
    this.name = 'UnsafePathError';
  }
}

/** The object, file or bucket does not exist. */
export class ArtifactNotFoundError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_ARTIFACT_NOT_FOUND', 'runtime', message, options);
    this.name = 'ArtifactNotFoundError';
  }
}

/** The store refused the credentials or the request (401/403). */
export class AccessDeniedError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_ACCESS_DENIED', 'runtime', message, options);
    this.name = 'AccessDeniedError';
  }
}

/** Downloaded bytes do not match a checksum the store or the URI gave. */
export class ChecksumMismatchError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_CHECKSUM_MISMATCH', 'runtime', message, options);
    this.name = 'ChecksumMismatchError';
  }
}

/** Fewer or more bytes arrived than the store announced (a cut connection: retryable). */
export class SizeMismatchError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_SIZE_MISMATCH', 'runtime', message, { retryable: true, ...options });
    this.name = 'SizeMismatchError';
  }
}

/** The transfer failed for another reason (network, server error, local disk). */
export class TransferError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_TRANSFER', 'runtime', message, options);
    this.name = 'TransferError';
  }
}

/** Work stopped because the caller aborted it (SIGTERM, SIGINT, an AbortSignal). */
export class AbortedError extends FlinkArtifactsError {
  constructor(message = 'aborted', options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_ABORTED', 'runtime', message, options);
    this.name = 'AbortedError';
  }
}

/** The text of an error for a log line: message, then the hint if there is one. */
export function describeError(error: unknown): string {
  if (isFlinkArtifactsError(error)) {
    return error.hint ? `${error.message} (${error.hint})` : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A create-only write found the name already taken (another writer won the race). */
export class ObjectExistsError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_OBJECT_EXISTS', 'runtime', message, options);
    this.name = 'ObjectExistsError';
  }
}

/** A path that exists but is a directory or other non-regular file where a file is needed. */
export class NotAFileError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_NOT_A_FILE', 'runtime', message, options);
    this.name = 'NotAFileError';
  }
}

/** The upload target already holds an object of that name with other (or unknown) content. */
export class TargetExistsError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_TARGET_EXISTS', 'runtime', message, options);
    this.name = 'TargetExistsError';
  }
}

/** A pod template that cannot be used: not YAML, not a Pod, or in conflict with what we add. */
export class TemplateError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_TEMPLATE', 'usage', message, options);
    this.name = 'TemplateError';
  }
}

/** The object changed between two requests of one transfer (a resumed download): start over. */
export class ObjectChangedError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_OBJECT_CHANGED', 'runtime', message, { retryable: true, ...options });
    this.name = 'ObjectChangedError';
  }
}

/** What a per-artifact report says about a failure: a stable code and a message naming the artifact. */
export function failureSummary(error: unknown, display: string, aborted: boolean): { code: string; message: string } {
  if (isFlinkArtifactsError(error)) return { code: error.code, message: describeError(error) };
  if (aborted) return { code: 'ERR_ABORTED', message: `${display}: aborted` };
  return { code: 'ERR_TRANSFER', message: `${display}: ${describeError(error)}` };
}

/** A report of one entry per artifact, some of which failed. */
export interface ReportWithFailures {
  readonly items: readonly { readonly status: string; readonly error?: { readonly message: string } | undefined }[];
}

/**
 * Some artifacts of a batch failed; the others were done. Carries the full report, so that a
 * failure of one never hides what happened to the rest. The message is the failure's own when
 * there is one, else a count and the first.
 */
export class BatchFailedError<R extends ReportWithFailures> extends FlinkArtifactsError {
  readonly report: R;
  constructor(code: string, report: R) {
    const failed = report.items.filter((item) => item.status === 'failed');
    const first = failed[0]?.error?.message ?? 'unknown error';
    super(code, 'runtime', failed.length === 1 ? first : `${failed.length} artifacts failed; first: ${first}`);
    this.name = 'BatchFailedError';
    this.report = report;
  }
}
