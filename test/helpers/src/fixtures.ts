/** Temporary directories and files with known content. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** A fresh temporary directory. */
export function tempDir(prefix = 'fa-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Random bytes of the given size. */
export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

/** Writes a file (creating parents) and returns its path. */
export async function writeFixture(path: string, content: Buffer | string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

export function sha256Hex(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Every file under a directory, as paths relative to it, sorted. Hidden state included. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** A unique, valid bucket name. */
export function uniqueBucket(prefix = 'fa'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
