import { chmod, lstat, mkdir } from 'node:fs/promises';
import { UnsafePathError, fileSystemError } from '@flink-artifacts/core';

/**
 * Makes sure the state directory (temporary files, records, heartbeats) is this user's own
 * directory before anything is written into it or swept from it. On a shared volume, someone
 * with write access to the cluster directory could otherwise plant `.flink-artifacts` as a
 * symbolic link and have our temporary files written, and `*.part` files deleted, wherever it
 * points. Created private (0700): nobody else can plant anything inside.
 *
 * @throws UnsafePathError for a symbolic link, a non-directory, or another user's directory.
 */
export async function ensureStateDirectory(stateDir: string): Promise<void> {
  await ensurePrivateDirectory(stateDir);
}

/**
 * A directory of this user's own, not a symbolic link, made private (0700), at `dir`: the state
 * directory, and the heartbeat directory inside it (swept of files of gone fetchers, so a link
 * planted there would point the sweep at any directory).
 *
 * @throws UnsafePathError for a symbolic link, a non-directory, or another user's directory.
 */
export async function ensurePrivateDirectory(stateDir: string): Promise<void> {
  // mkdir neither follows nor replaces a symbolic link at the name: it fails with EEXIST.
  await mkdir(stateDir, { mode: 0o700 }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(error, stateDir, 'write');
  });
  const info = await lstat(stateDir).catch((error: unknown) => {
    throw fileSystemError(error, stateDir, 'read');
  });
  const hint = `remove ${stateDir} (it holds only temporary files and fetch records); the next fetch recreates it`;
  if (info.isSymbolicLink()) throw new UnsafePathError(`${stateDir} is a symbolic link: refusing to write temporary files or records through it`, { hint });
  if (!info.isDirectory()) throw new UnsafePathError(`${stateDir} is not a directory`, { hint });
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new UnsafePathError(`${stateDir} belongs to user ${info.uid}, not to this fetcher's user ${uid}: refusing to use another user's state directory`, { hint });
  }
  // A directory made by an older version (0755), or under another umask.
  if ((info.mode & 0o077) !== 0) await chmod(stateDir, 0o700).catch(() => undefined);
}
