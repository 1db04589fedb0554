import { unlink } from 'node:fs/promises';

/** unlink(2), where a missing file is fine: cheaper than rm(), which walks with lstat first. */
export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
}
