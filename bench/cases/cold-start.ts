/**
 * Cold start: `flink-artifacts fetch` with nothing to fetch (one S3 artifact already in place,
 * reused after one conditional request), against `node -e 0` and `aws --version` as floors.
 */
import { join } from 'node:path';
import type { BenchCase } from '../lib/case.ts';
import { WORK, type BenchContext } from '../lib/context.ts';
import { measure } from '../lib/measure.ts';

export async function coldStartCase(context: BenchContext): Promise<BenchCase> {
  const file = await context.dataFile(join('small', 'lib-000.jar'), 1024 * 1024);
  await context.seed('cold/lib-000.jar', file);
  const out = join(WORK, 'out', 'cold');
  const fetch = context.ours(['fetch', `s3://${context.bucket}/cold/lib-000.jar`, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${out}`]);
  await measure(fetch); // puts the file in place; every measured run reuses it
  return {
    id: 'cold-start',
    title: 'Cold start: fetch with everything already in place (1 S3 artifact, reused)',
    rounds: Math.max(context.rounds, 5),
    contenders: [
      { name: 'flink-artifacts fetch (bundle)', ours: true, command: () => fetch },
      { name: 'floor: node -e 0', ours: false, command: () => ({ command: context.oursNode, args: ['-e', '0'] }) },
      { name: 'floor: aws --version', ours: false, command: () => context.aws(['--version']) },
    ],
  };
}
