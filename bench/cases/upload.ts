/**
 * Upload cases: 200 jars already in the target (the skip path) against `aws s3 sync`; 200 new
 * jars against `aws s3 cp --recursive`; one large new file against `aws s3 cp`.
 */
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { BenchCase } from '../lib/case.ts';
import type { CommandSpec } from '../lib/measure.ts';
import { WORK, type BenchContext } from '../lib/context.ts';
import { confDir } from '../lib/files.ts';

const MiB = 1024 * 1024;

async function countUnder(context: BenchContext, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await context.s3.send(new ListObjectsV2Command({ Bucket: context.bucket, Prefix: prefix, ContinuationToken: token }));
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return count;
}

/**
 * A fresh, empty checksum cache per run: "new" uploads are of freshly built jars, whose
 * checksums nobody remembers.
 */
async function coldCache(): Promise<Record<string, string>> {
  return { FLINK_ARTIFACTS_CACHE_DIR: await mkdtemp(join(tmpdir(), 'fa-bench-cache-')) };
}

export async function uploadManyCases(context: BenchContext, count = 200): Promise<BenchCase[]> {
  const names = Array.from({ length: count }, (_, i) => `lib-${String(i).padStart(3, '0')}.jar`);
  const files = await Promise.all(names.map((name) => context.dataFile(join('small', name), MiB)));
  const dir = dirname(files[0]!);
  const list = files.map((file) => `local://${file}`);
  const conf = (target: string, key: string) => confDir(join(WORK, 'conf', key), { 'kubernetes.artifacts.local-upload-target': target, 'user.artifacts.artifact-list': list });

  // The skip path: everything already there, uploaded once by us (with our checksums). That
  // first run also fills a checksum cache: the "second deploy" contender uses it.
  const skipConf = await conf(`s3://${context.bucket}/skip/`, 'upload-skip');
  const warmCache = await coldCache();
  const seed = context.ours(['upload', '--conf-dir', skipConf]);
  const seeded = spawnSync(seed.command, seed.args, { stdio: 'ignore', env: { ...process.env, ...seed.env, ...warmCache } });
  if (seeded.status !== 0) throw new Error('seeding the skip case failed');
  const newConfs = new Map<number, string>();

  return [
    {
      id: 'upload-skip',
      title: `Upload, all existing: ${count} × 1 MiB already in S3`,
      rounds: context.rounds,
      contenders: [
        {
          name: 'flink-artifacts upload, local checksums remembered (a redeploy)',
          ours: true,
          command: () => withEnv(context.ours(['upload', '--conf-dir', skipConf]), warmCache),
        },
        {
          name: 'flink-artifacts upload, nothing remembered (hashes all 200)',
          ours: false,
          command: async () => withEnv(context.ours(['upload', '--conf-dir', skipConf]), await coldCache()),
        },
        { name: 'aws s3 sync (compares size + mtime)', ours: false, command: () => context.aws(['s3', 'sync', '--quiet', dir, `s3://${context.bucket}/skip/`]) },
      ],
      async verify(contender) {
        const found = await countUnder(context, 'skip/');
        if (found !== count) throw new Error(`${contender}: ${found} objects under skip/`);
      },
    },
    {
      id: 'upload-many-new',
      title: `Upload, new: ${count} × 1 MiB to S3`,
      rounds: context.rounds,
      contenders: [
        {
          name: 'flink-artifacts upload',
          ours: true,
          async prepare(round) {
            newConfs.set(round, await conf(`s3://${context.bucket}/ours-new-${round}/`, `upload-new-${round}`));
          },
          command: async (round) => withEnv(context.ours(['upload', '--conf-dir', newConfs.get(round)!]), await coldCache()),
        },
        { name: 'aws s3 cp --recursive', ours: false, command: (round) => context.aws(['s3', 'cp', '--quiet', '--recursive', dir, `s3://${context.bucket}/aws-new-${round}/`]) },
      ],
      async verify(contender, round) {
        const prefix = contender.startsWith('aws') ? `aws-new-${round}/` : `ours-new-${round}/`;
        const found = await countUnder(context, prefix);
        if (found !== count) throw new Error(`${contender}: ${found} objects under ${prefix}`);
      },
    },
  ];
}

export async function uploadLargeCases(context: BenchContext, sizes: readonly number[]): Promise<BenchCase[]> {
  return Promise.all(
    sizes.map(async (size): Promise<BenchCase> => {
      const label = context.sizeLabel(size);
      const file = await context.dataFile(`large-${label}.jar`, size);
      const key = (who: string, round: number) => `${who}-large-${label}-${round}/large-${label}.jar`;
      return {
        id: `upload-large-${label}`,
        title: `Upload, new: 1 × ${label} to S3`,
        rounds: context.rounds,
        contenders: [
          {
            name: 'flink-artifacts upload',
            ours: true,
            command: async (round) =>
              withEnv(context.ours(['upload', `local://${file}`, `-Dkubernetes.artifacts.local-upload-target=s3://${context.bucket}/${dirname(key('ours', round))}/`]), await coldCache()),
          },
          { name: 'aws s3 cp', ours: false, command: (round) => context.aws(['s3', 'cp', '--quiet', file, `s3://${context.bucket}/${key('aws', round)}`]) },
        ],
        async verify(contender, round) {
          const head = await context.s3.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key(contender.startsWith('aws') ? 'aws' : 'ours', round) }));
          if (head.ContentLength !== size) throw new Error(`${contender}: ${head.ContentLength} bytes, expected ${size}`);
        },
      };
    }),
  );
}

function withEnv(spec: CommandSpec, env: Record<string, string>): CommandSpec {
  return { ...spec, env: { ...spec.env, ...env } };
}
