/**
 * The publishable packages as a user gets them: packed with `pnpm pack`, installed with
 * `npm install <tarballs>`. Shared by the packaging test (which installs offline, from npm's
 * cache) and by scripts/warm-npm-cache.ts, which fills that cache at setup time, the only time
 * the registry is reached: tests send packets to loopback only.
 */
import { spawn } from 'node:child_process';
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The publishable packages, by directory under packages/. */
export const PACKAGES = ['core', 'storage', 'fetcher', 'client', 'deploy', 'cli'] as const;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function describeRun(what: string, result: RunResult): string {
  return `${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * Packs every package (built first: their dist) into `destination`.
 *
 * @returns the tarballs' paths.
 */
export async function packPackages(root: string, destination: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  for (const name of PACKAGES) {
    await access(join(root, 'packages', name, 'dist')).catch(() => {
      throw new Error(`packages/${name}/dist is missing: build first (pnpm build)`);
    });
  }
  for (const name of PACKAGES) {
    const packed = await run('pnpm', ['pack', '--pack-destination', destination], join(root, 'packages', name), env);
    if (packed.code !== 0) throw new Error(describeRun(`pnpm pack in packages/${name}`, packed));
  }
  const files = (await readdir(destination)).filter((file) => file.endsWith('.tgz')).map((file) => join(destination, file));
  if (files.length !== PACKAGES.length) throw new Error(`expected ${PACKAGES.length} tarballs, got ${files.join(', ')}`);
  return files;
}

/**
 * `npm install <tarballs>` into `dir` (made a package of its own first, as `npm init -y` would,
 * so npm installs there and not into a parent directory). All at once: they are not on the
 * registry, so npm must find each one among the tarballs. `offline`: from npm's cache only.
 */
export async function npmInstall(dir: string, tarballs: readonly string[], env: NodeJS.ProcessEnv, options: { offline: boolean }): Promise<RunResult> {
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'flink-artifacts-user', version: '1.0.0', private: true }, null, 2)}\n`);
  return run('npm', ['install', '--no-audit', '--no-fund', ...(options.offline ? ['--offline'] : []), ...tarballs], dir, env);
}
