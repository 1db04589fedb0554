import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Empties a directory (the target of a fetch), so that every run fetches everything. */
export async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Number and total size of the regular files directly in `dir` (hidden state excluded). */
export async function filesIn(dir: string): Promise<{ count: number; bytes: number }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
  let bytes = 0;
  let count = 0;
  for (const name of names) {
    const info = await stat(join(dir, name));
    if (info.isFile()) {
      count++;
      bytes += info.size;
    }
  }
  return { count, bytes };
}

/** A Flink config dir whose config.yaml holds these options (keeps long lists off argv). */
export async function confDir(dir: string, options: Record<string, string | string[]>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const lines = Object.entries(options).map(([key, value]) =>
    Array.isArray(value) ? `${key}:\n${value.map((v) => `  - "${v}"`).join('\n')}` : `${key}: "${value}"`,
  );
  await mkdir(dirname(join(dir, 'config.yaml')), { recursive: true });
  await writeFile(join(dir, 'config.yaml'), `${lines.join('\n')}\n`);
  return dir;
}
