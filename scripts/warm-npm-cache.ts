// Setup, not a test: installs the packed packages once with npm, online, so that npm's cache
// holds every third-party dependency. The packaging test then installs them offline: tests send
// packets to loopback only. Run by scripts/setup.sh after the build.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRun, npmInstall, packPackages } from '../test/helpers/src/packages.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = await mkdtemp(join(tmpdir(), 'fa-warm-npm-'));
try {
  const env = { ...process.env, npm_config_update_notifier: 'false' };
  const tarballs = await packPackages(root, await mkdtemp(join(work, 'tarballs-')), env);
  const installed = await npmInstall(await mkdtemp(join(work, 'install-')), tarballs, env, { offline: false });
  if (installed.code !== 0) throw new Error(describeRun('npm install', installed));
  process.stdout.write('setup: npm cache holds the packages\' dependencies (for the offline packaging test)\n');
} finally {
  await rm(work, { recursive: true, force: true });
}
