import type { Readable } from 'node:stream';
import type { ChecksumAlgorithm, Checksums } from './checksum.ts';
import type { ArtifactLocation } from './uri.ts';

/** What a driver needs to address an object, and what it may print about it. */
export interface ObjectRef {
  readonly location: ArtifactLocation;
  /** The URI with credentials masked: the only form of the address allowed in messages. */
  readonly display: string;
}

/** What a store says about an object. */
export interface RemoteObject {
  /** Size in bytes, when the store states it. */
  readonly size: number | undefined;
  /** Whole-object checksums the store states (never computed by the driver). */
  readonly checksums: Checksums;
  /**
   * A token that changes whenever the content changes (ETag, generation, mtime and size), or
   * undefined when the store gives none. Opaque: only compared for equality, and given back to
   * {@link ReadOptions.unlessVersion}.
   */
  readonly version: string | undefined;
  /**
   * The store serves byte ranges of this version ({@link ReadOptions.start}/`end` pinned with
   * `ifMatch`): always for object stores and files; for HTTP when the server says
   * `Accept-Ranges: bytes` and gives a validator. Large objects are then fetched in parallel
   * ranges.
   */
  readonly acceptsRanges?: boolean | undefined;
}

/** Options of {@link StorageDriver.read}. */
export interface ReadOptions {
  /** Aborts the request and destroys the body. */
  readonly signal?: AbortSignal | undefined;
  /**
   * A version seen earlier: when the object still has it, the driver answers
   * `{ notModified: true }` without sending the body (a conditional request where the store
   * supports one).
   */
  readonly unlessVersion?: string | undefined;
  /**
   * Resume: send the body from this byte offset, provided the object still has the version
   * `ifMatch`. A driver whose store answers with the whole object (the version changed, or no
   * range support) says so with `start: 0`; one whose store refuses throws ObjectChangedError.
   */
  readonly start?: number | undefined;
  /**
   * With `start`, the last byte wanted (inclusive): the body holds exactly `start..end`. Used
   * with `ifMatch` for the parallel ranges of a large object.
   */
  readonly end?: number | undefined;
  readonly ifMatch?: string | undefined;
}

/** An object's body, streamed, and what the store said about it in the same response. */
export interface ReadResult {
  readonly notModified: false;
  /** The bytes, never buffered whole. The consumer must read or destroy it. */
  readonly body: Readable;
  /** The whole object (size, checksums, version), also for a ranged read. */
  readonly object: RemoteObject;
  /** Offset of the body's first byte in the object: the requested `start`, or 0. */
  readonly start: number;
  /**
   * Offset of the body's last byte, where the store said (a Content-Range, or the whole body's
   * length). A ranged read answered with the whole object from 0 differs from the asked `end`.
   */
  readonly end?: number | undefined;
}

/** The object still has the version given in {@link ReadOptions.unlessVersion}. */
export interface NotModified {
  readonly notModified: true;
}

/** Options of {@link StorageDriver.stat}. */
export interface StatOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * The bytes to write: a known size and a way to (re)open them, whole or a byte range, so that a
 * driver can upload parts in parallel straight from disk and retry a part without buffering.
 */
export interface UploadSource {
  readonly size: number;
  /** A fresh stream of the bytes `start..end` (inclusive), or of everything. */
  open(range?: { readonly start: number; readonly end: number }): Readable;
}

/** Options of {@link StorageDriver.write}. */
export interface WriteOptions {
  readonly signal?: AbortSignal | undefined;
  /** Checksums of the source, stored with the object (and sent for the store to verify where it can). */
  readonly checksums: Checksums;
  /**
   * Create only: throw ObjectExistsError if the name is taken, decided by the store atomically
   * (S3 If-None-Match: *, GCS ifGenerationMatch=0, link(2) on a filesystem).
   */
  readonly ifAbsent: boolean;
  /** Called with byte counts as they are sent. */
  readonly onBytes?: ((bytes: number) => void) | undefined;
  /**
   * Runs one idempotent piece of the write (a multipart part) with the caller's retry policy,
   * so that a failed part is sent again alone, not the whole object. Transient failures of the
   * piece must reach it as retryable typed errors. @default one attempt
   */
  readonly retryPart?: (<T>(attempt: () => Promise<T>) => Promise<T>) | undefined;
}

/**
 * One storage backend. Drivers are stateless apart from connection pools and may be called
 * concurrently. Every error they throw is a FlinkArtifactsError whose message names the
 * object by its `display` form; credentials never appear in it.
 */
export interface StorageDriver {
  /** For messages: "s3", "gcs", "http", "file". */
  readonly name: string;

  /**
   * Metadata of an object without its body. Idempotent.
   *
   * @returns undefined when the object does not exist.
   * @throws AccessDeniedError when the store refuses; TransferError for other failures.
   */
  stat(ref: ObjectRef, options?: StatOptions): Promise<RemoteObject | undefined>;

  /**
   * Opens an object for reading. Idempotent. Errors while the body streams surface on the
   * stream, as plain errors of the transport; the caller wraps them.
   *
   * @throws ArtifactNotFoundError when the object (or its bucket) does not exist.
   * @throws AccessDeniedError when the store refuses; TransferError for other failures.
   */
  read(ref: ObjectRef, options?: ReadOptions): Promise<ReadResult | NotModified>;

  /**
   * Writes an object with bounded memory. Not idempotent unless `ifAbsent`. On failure nothing
   * new is left under the object's name (multipart uploads are aborted, temporary files removed).
   *
   * @returns what the store says about the new object.
   * @throws ObjectExistsError (`ifAbsent` and the name is taken), ArtifactNotFoundError (the
   *   bucket or directory is missing), AccessDeniedError, TransferError.
   */
  write?(ref: ObjectRef, source: UploadSource, options: WriteOptions): Promise<RemoteObject>;

  /**
   * Every object under a prefix (S3/GCS key prefix, or a directory's files), keyed by its key
   * or path, with what a listing states (size, version; checksums where the listing has them:
   * an S3 ETag that is an MD5, GCS md5Hash/crc32c/metadata). One request per 1,000 objects
   * instead of one per object. Optional.
   */
  list?(prefix: ObjectRef, options?: StatOptions): Promise<Map<string, RemoteObject>>;

  /**
   * The checksums worth computing before writing an object of `size` bytes: what the store
   * can verify on arrival or keeps as metadata. @default ['sha256', 'md5']
   */
  writeChecksums?(size: number): readonly ChecksumAlgorithm[];

  /**
   * Computes checksums by reading the stored object, for stores whose metadata states none
   * (a filesystem). Optional: remote stores do not offer it, since it costs a download.
   */
  hash?(ref: ObjectRef, algorithms: readonly ChecksumAlgorithm[], options?: StatOptions): Promise<Checksums>;

  /** Releases connection pools. Safe to call more than once. */
  close?(): Promise<void>;
}

/**
 * The driver kinds; `https` is served by the `http` driver, `local` by the `file` driver, and
 * `oss` by the S3 driver through OSS's S3-compatible API (with OSS's own settings).
 */
export type DriverKind = 's3' | 'gs' | 'oss' | 'azure' | 'http' | 'file';

/** Which driver serves a location's scheme. */
export function driverKindOf(location: ArtifactLocation): DriverKind {
  switch (location.scheme) {
    case 's3':
      return 's3';
    case 'gs':
      return 'gs';
    case 'oss':
      return 'oss';
    case 'azure':
      return 'azure';
    case 'http':
    case 'https':
      return 'http';
    case 'file':
    case 'local':
      return 'file';
  }
}

/** Picks a driver for a location. Implementations create drivers lazily. */
export interface DriverPicker {
  driverFor(location: ArtifactLocation): Promise<StorageDriver>;
  /** Closes every driver created so far. */
  close(): Promise<void>;
}
