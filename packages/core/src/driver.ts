import type { Readable } from 'node:stream';
import type { Checksums } from './checksum.ts';
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
}

/** An object's body, streamed, and what the store said about it in the same response. */
export interface ReadResult {
  readonly notModified: false;
  /** The bytes, never buffered whole. The consumer must read or destroy it. */
  readonly body: Readable;
  readonly object: RemoteObject;
}

/** The object still has the version given in {@link ReadOptions.unlessVersion}. */
export interface NotModified {
  readonly notModified: true;
}

/** Options of {@link StorageDriver.stat}. */
export interface StatOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link StorageDriver.write}. */
export interface WriteOptions {
  readonly signal?: AbortSignal | undefined;
  /** The exact number of bytes the body will yield. */
  readonly size: number;
  /** Checksums of the body, stored with the object so that readers can verify it. */
  readonly checksums: Checksums;
  /**
   * Create only: fail with `ObjectExistsError` (code ERR_OBJECT_EXISTS) if the name is taken,
   * decided by the store atomically (S3 If-None-Match, GCS ifGenerationMatch=0, O_EXCL).
   */
  readonly ifAbsent: boolean;
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
   * Writes an object from a stream with bounded memory. Not idempotent unless `ifAbsent`.
   * On failure nothing is left under the object's name (partial uploads are aborted).
   */
  write?(ref: ObjectRef, body: Readable, options: WriteOptions): Promise<RemoteObject>;

  /** Releases connection pools. Safe to call more than once. */
  close?(): Promise<void>;
}

/** The driver kinds; `https` is served by the `http` driver and `local` by the `file` driver. */
export type DriverKind = 's3' | 'gs' | 'http' | 'file';

/** Which driver serves a location's scheme. */
export function driverKindOf(location: ArtifactLocation): DriverKind {
  switch (location.scheme) {
    case 's3':
      return 's3';
    case 'gs':
      return 'gs';
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
