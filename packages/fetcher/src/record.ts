import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checksums } from '@flink-artifacts/core';
import { removeFile } from './remove-file.ts';
import { stateName } from './state-names.ts';

/**
 * What was fetched into a file, kept beside it in the state directory so that a restarted init
 * container can tell an intact earlier download from a stale or foreign file without reading
 * it. The URI is stored hashed: it may carry a signed query string.
 */
export interface FetchRecord {
  /** SHA-256 of the URI text the file was fetched from. */
  readonly uri: string;
  /** The store's version token at fetch time (ETag, generation...). */
  readonly version: string | undefined;
  /** Checksums verified or computed while fetching. */
  readonly checksums: Checksums;
  /** The file as written: any later change to it invalidates the record. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /**
   * The kernel's boot id when the file was written. Files are not fsynced: within one boot the
   * page cache is the truth; after a reboot the content must be checked before it is trusted.
   */
  readonly bootId: string | undefined;
  readonly fetchedAt: string;
}

const RECORD_SUFFIX = '.fetched.json';

/** Hash of a URI for records: comparable, not reversible. */
export function uriKey(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}

export function recordPath(stateDir: string, fileName: string): string {
  return join(stateDir, `${stateName(fileName)}${RECORD_SUFFIX}`);
}

/** The record of a file, or undefined when there is none or it cannot be read. */
export async function readRecord(stateDir: string, fileName: string): Promise<FetchRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(recordPath(stateDir, fileName), 'utf8')) as Partial<FetchRecord>;
    if (typeof parsed.uri !== 'string' || typeof parsed.size !== 'number' || typeof parsed.mtimeMs !== 'number' || typeof parsed.ino !== 'number') {
      return undefined;
    }
    return parsed as FetchRecord;
  } catch {
    return undefined;
  }
}

/** True when the file on disk is still the one the record describes (metadata), fetched from `raw`. */
export function recordMatches(record: FetchRecord, raw: string, file: Stats): boolean {
  return record.uri === uriKey(raw) && record.size === file.size && record.mtimeMs === file.mtimeMs && record.ino === file.ino;
}

let cachedBootId: string | undefined | null = null;

/** This boot's id (Linux), or undefined where the kernel does not say. */
export async function currentBootId(): Promise<string | undefined> {
  if (cachedBootId === null) {
    cachedBootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim() || undefined;
  }
  return cachedBootId;
}

/**
 * True when the record was written in this boot: the file's bytes are then those written,
 * whether or not they have reached the disk. Otherwise they must be verified.
 */
export async function writtenThisBoot(record: FetchRecord): Promise<boolean> {
  const boot = await currentBootId();
  return boot !== undefined && record.bootId === boot;
}

/** Writes a record atomically (temporary file, then rename). */
export async function writeRecord(stateDir: string, fileName: string, record: FetchRecord): Promise<void> {
  const path = recordPath(stateDir, fileName);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Removes a record (before its file is replaced). */
export async function removeRecord(stateDir: string, fileName: string): Promise<void> {
  await removeFile(recordPath(stateDir, fileName));
}
