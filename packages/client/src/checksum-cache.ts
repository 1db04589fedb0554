import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Checksums } from '@flink-artifacts/core';

/**
 * Checksums of local files from earlier runs, so that uploading unchanged jars again (the
 * usual redeploy) reads nothing: a file whose size, modification time, change time and inode
 * are all as recorded has the recorded content. The change time cannot be set back by a user
 * (unlike mtime, which `touch` or an archive tool may restore), so an edited file never
 * matches. A cache, nothing more: unreadable, missing or stale entries mean hashing again.
 */
export interface ChecksumCache {
  get(path: string, stats: Stats): Checksums | undefined;
  set(path: string, stats: Stats, checksums: Checksums): void;
  /** Writes new entries (atomically); a failure to write is ignored. */
  save(): Promise<void>;
}

interface Entry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  checksums: Checksums;
}

/** Entries kept at most: old ones beyond this are dropped on save. */
const MAX_ENTRIES = 5000;

/** Where the cache lives: FLINK_ARTIFACTS_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache. */
export function defaultCacheFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env.FLINK_ARTIFACTS_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flink-artifacts');
  return join(dir, 'checksums.json');
}

export async function openChecksumCache(file: string): Promise<ChecksumCache> {
  let entries: Record<string, Entry> = {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null) entries = parsed as Record<string, Entry>;
  } catch {
    // No cache yet, or an unreadable one: start empty.
  }
  let changed = false;
  const same = (entry: Entry, stats: Stats): boolean =>
    entry.size === stats.size && entry.mtimeMs === stats.mtimeMs && entry.ctimeMs === stats.ctimeMs && entry.ino === stats.ino;
  return {
    get(path, stats) {
      const entry = entries[path];
      return entry !== undefined && same(entry, stats) ? entry.checksums : undefined;
    },
    set(path, stats, checksums) {
      const previous = entries[path];
      const merged = previous !== undefined && same(previous, stats) ? { ...previous.checksums, ...checksums } : checksums;
      delete entries[path];
      entries[path] = { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, checksums: merged };
      changed = true;
    },
    async save() {
      if (!changed) return;
      const keys = Object.keys(entries);
      const kept = keys.length > MAX_ENTRIES ? Object.fromEntries(keys.slice(-MAX_ENTRIES).map((k) => [k, entries[k]])) : entries;
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(tmp, JSON.stringify(kept), { mode: 0o600 });
        await rename(tmp, file);
      } catch {
        await rm(tmp, { force: true });
      }
    },
  };
}
