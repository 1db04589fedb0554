/**
 * Fetch cases. Many small: 200 jars of 1 MiB from S3 into base-dir/ns/cluster-id, ours
 * sequential (what Flink does) and at the default concurrency, against `aws s3 cp --recursive`
 * (Debian's awscli 2, and an awscli 1 where one is installed) and a loop of `aws s3 cp` (a hand-written init container). One large: 1 object from S3 and
 * from HTTP (nginx), against `aws s3 cp` and `curl -o`, with the physical references: curl to
 * /dev/null from the same server, and `cat` of a local file of that size.
 */
import { join } from 'node:path';
import type { BenchCase } from '../lib/case.ts';
import { WORK, findAwsCliV1, type BenchContext } from '../lib/context.ts';
import { confDir, emptyDir, filesIn } from '../lib/files.ts';

const MiB = 1024 * 1024;

export async function fetchManySmallCase(context: BenchContext, count = 200): Promise<BenchCase> {
  const names = Array.from({ length: count }, (_, i) => `lib-${String(i).padStart(3, '0')}.jar`);
  const files = await Promise.all(names.map((name) => context.dataFile(join('small', name), MiB)));
  await Promise.all(files.map((file, i) => context.seed(`small/${names[i]}`, file)));
  const out = join(WORK, 'out', 'small');
  const clusterDir = join(out, 'default', 'bench');
  const conf = await confDir(join(WORK, 'conf', 'small'), {
    'kubernetes.cluster-id': 'bench',
    'user.artifacts.base-dir': out,
    'user.artifacts.artifact-list': names.map((name) => `s3://${context.bucket}/small/${name}`),
  });
  const awsV1 = findAwsCliV1();
  const loop = names.map((name) => `/usr/bin/aws --endpoint-url ${context.endpoint} s3 cp --quiet s3://${context.bucket}/small/${name} ${clusterDir}/${name}`).join(' && ');
  return {
    id: 'fetch-many-small',
    title: `Fetch, many small: ${count} × 1 MiB from S3`,
    rounds: context.rounds,
    contenders: [
      { name: 'flink-artifacts fetch, concurrency 8 (default)', ours: true, prepare: () => emptyDir(out), command: () => context.ours(['fetch', '--conf-dir', conf]) },
      { name: 'flink-artifacts fetch, concurrency 1 (Flink-like)', ours: false, prepare: () => emptyDir(out), command: () => context.ours(['fetch', '--conf-dir', conf, '--concurrency', '1']) },
      { name: 'aws s3 cp --recursive', ours: false, prepare: () => emptyDir(clusterDir), command: () => context.aws(['s3', 'cp', '--quiet', '--recursive', `s3://${context.bucket}/small/`, clusterDir]) },
      ...(awsV1 === undefined
        ? []
        : [{ name: 'aws s3 cp --recursive (awscli 1)', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ ...context.aws(['s3', 'cp', '--quiet', '--recursive', `s3://${context.bucket}/small/`, clusterDir]), command: awsV1 }) }]),
      { name: 'aws s3 cp, one per file (shell loop)', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ ...context.aws([]), command: 'bash', args: ['-c', loop] }) },
    ],
    async verify(contender) {
      const found = await filesIn(clusterDir);
      if (found.count !== count || found.bytes !== count * MiB) throw new Error(`${contender}: ${found.count} files, ${found.bytes} bytes in ${clusterDir}`);
    },
  };
}

export async function fetchLargeCases(context: BenchContext, httpUrl: string, sizes: readonly number[]): Promise<BenchCase[]> {
  const cases: BenchCase[] = [];
  for (const size of sizes) {
    const label = context.sizeLabel(size);
    const name = `large-${label}.jar`;
    const file = await context.dataFile(name, size);
    await context.seed(`large/${name}`, file);
    const out = join(WORK, 'out', `large-${label}`);
    const clusterDir = join(out, 'default', 'bench');
    const target = join(clusterDir, name);
    const ours = (uri: string) => context.ours(['fetch', uri, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${out}`, '-Duser.artifacts.raw-http-enabled=true']);
    const verify = async (contender: string) => {
      if (contender.includes('/dev/null') || contender.startsWith('cat')) return;
      const found = await filesIn(clusterDir);
      if (found.count !== 1 || found.bytes !== size) throw new Error(`${contender}: ${found.count} files, ${found.bytes} bytes`);
    };
    cases.push({
      id: `fetch-large-s3-${label}`,
      title: `Fetch, one large: 1 × ${label} from S3`,
      rounds: context.rounds,
      contenders: [
        { name: 'flink-artifacts fetch', ours: true, prepare: () => emptyDir(out), command: () => ours(`s3://${context.bucket}/large/${name}`) },
        { name: 'aws s3 cp', ours: false, prepare: () => emptyDir(clusterDir), command: () => context.aws(['s3', 'cp', '--quiet', `s3://${context.bucket}/large/${name}`, target]) },
        { name: 'curl (SigV4) -o file', ours: false, prepare: () => emptyDir(clusterDir), command: () => context.curlS3(`large/${name}`, target) },
        { name: 'reference: curl (SigV4) -o /dev/null', ours: false, command: () => context.curlS3(`large/${name}`, '/dev/null') },
        { name: 'reference: cat local file > /dev/null', ours: false, command: () => ({ command: 'bash', args: ['-c', `cat ${file} > /dev/null`] }) },
      ],
      verify,
    });
    cases.push({
      id: `fetch-large-http-${label}`,
      title: `Fetch, one large: 1 × ${label} from HTTP (nginx)`,
      rounds: context.rounds,
      contenders: [
        { name: 'flink-artifacts fetch', ours: true, prepare: () => emptyDir(out), command: () => ours(`${httpUrl}/${name}`) },
        { name: 'curl -o file', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ command: 'curl', args: ['-sf', '-o', target, `${httpUrl}/${name}`] }) },
        { name: 'reference: curl -o /dev/null', ours: false, command: () => ({ command: 'curl', args: ['-sf', '-o', '/dev/null', `${httpUrl}/${name}`] }) },
      ],
      verify,
    });
  }
  return cases;
}
