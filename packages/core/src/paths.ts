import { dirname, join, resolve } from 'node:path';
import { UnsafePathError } from './errors.ts';
import { STATE_DIR_NAME, assertPlainFileName } from './uri.ts';

/**
 * The absolute path of `fileName` inside `clusterDir`. The name was checked when the URI was
 * parsed; this checks the joined result once more, so that no future change to name
 * derivation can write outside the directory.
 *
 * @throws UnsafePathError naming `display` (the URI, redacted).
 */
export function targetPath(clusterDir: string, fileName: string, display: string): string {
  assertPlainFileName(fileName, display);
  const root = resolve(clusterDir);
  const path = resolve(root, fileName);
  if (dirname(path) !== root) throw new UnsafePathError(`${display} would be written outside ${root}`);
  return path;
}

/** The hidden directory in a cluster directory that holds temporary files and fetch records. */
export function stateDirectory(clusterDir: string): string {
  return join(resolve(clusterDir), STATE_DIR_NAME);
}
