/**
 * Start-up, as the init container pays it: the image's bundle on its Node with V8's compile
 * cache warm (NODE_COMPILE_CACHE, as the image sets it), against `node -e 0` on the same Node:
 * a fetch of one `local://` artifact (nothing to download), a fetch of one small new S3 object,
 * and a fetch with everything already in place (one S3 artifact, reused after one conditional
 * request). And the CLI as installed from the packages, `--version`, against `node -e 0` on the
 * Node that runs it.
 */
import { join } from 'node:path';
import type { BenchCase } from '../lib/case.ts';
import { ROOT, WORK, type BenchContext } from '../lib/context.ts';
import { emptyDir } from '../lib/files.ts';
import { measure, type CommandSpec } from '../lib/measure.ts';

export async function coldStartCase(context: BenchContext): Promise<BenchCase> {
  const file = await context.dataFile(join('small', 'lib-000.jar'), 1024 * 1024);
  await context.seed('cold/lib-000.jar', file);
  const cache = join(WORK, 'compile-cache');
  const withCache = (spec: CommandSpec): CommandSpec => ({ ...spec, env: { ...spec.env, NODE_COMPILE_CACHE: cache } });
  const reusedOut = join(WORK, 'out', 'cold');
  const reused = withCache(context.ours(['fetch', `s3://${context.bucket}/cold/lib-000.jar`, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${reusedOut}`]));
  const freshOut = join(WORK, 'out', 'cold-new');
  const fresh = withCache(context.ours(['fetch', `s3://${context.bucket}/cold/lib-000.jar`, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${freshOut}`]));
  const local = withCache(context.ours(['fetch', `local://${file}`, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${join(WORK, 'out', 'cold-local')}`]));
  // Warm the compile cache for every path measured, and put the reused file in place.
  for (const spec of [reused, fresh, local]) await measure(spec);
  return {
    id: 'cold-start',
    title: 'Start-up: the bundle with a warm compile cache (as in the image), and the installed CLI',
    rounds: Math.max(context.rounds, 5),
    contenders: [
      { name: 'flink-artifacts fetch, one local:// artifact (bundle)', ours: true, command: () => local },
      { name: 'flink-artifacts fetch, one new 1 MiB S3 object (bundle)', ours: false, prepare: () => emptyDir(freshOut), command: () => fresh },
      { name: 'flink-artifacts fetch, everything in place (bundle)', ours: false, command: () => reused },
      { name: 'floor: node -e 0 (the bundle\'s Node)', ours: false, command: () => ({ command: context.oursNode, args: ['-e', '0'] }) },
      { name: 'installed CLI: flink-artifacts --version', ours: false, command: () => ({ command: process.execPath, args: [join(ROOT, 'packages', 'cli', 'bin', 'flink-artifacts.js'), '--version'] }) },
      { name: 'floor: node -e 0 (the installed CLI\'s Node)', ours: false, command: () => ({ command: process.execPath, args: ['-e', '0'] }) },
      { name: 'floor: aws --version', ours: false, command: () => context.aws(['--version']) },
    ],
  };
}
