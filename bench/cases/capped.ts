/**
 * Fetch under a per-connection bandwidth cap: a proxy in front of RGW and nginx lets each
 * connection carry at most 50 MB/s, as a cloud store's single connection carries on the order
 * of 100 MB/s. What parallel ranges are for: one stream (curl, Flink's own fetcher, ours with
 * one range) is bound by the cap; `aws s3 cp` and ours split the object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '@flink-artifacts/test-helpers/s3';
import type { BenchCase } from '../lib/case.ts';
import { AWS_CLI, BUNDLE, ROOT, WORK, type BenchContext } from '../lib/context.ts';
import { emptyDir, filesIn } from '../lib/files.ts';

export const CAP_BYTES_PER_SECOND = 50 * 1000 * 1000;

export interface CappedProxy {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the throttling proxy in front of `upstream` (`http://host:port`). */
export async function startCappedProxy(upstream: string): Promise<CappedProxy> {
  const port = await freePort();
  const target = new URL(upstream);
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bench', 'lib', 'throttle-proxy.mjs'), String(port), `${target.hostname}:${target.port}`, String(CAP_BYTES_PER_SECOND)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`throttle proxy exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export async function fetchCappedCases(context: BenchContext, s3Capped: string, httpCapped: string, size: number): Promise<BenchCase[]> {
  const label = context.sizeLabel(size);
  const name = `large-${label}.jar`;
  // The object and file of the uncapped large cases (made and seeded there, or here).
  const file = await context.dataFile(name, size);
  await context.seed(`capped/${name}`, file);
  const out = join(WORK, 'out', `capped-${label}`);
  const clusterDir = join(out, 'default', 'bench');
  const target = join(clusterDir, name);
  const ours = (uri: string, extra: string[] = []): { command: string; args: string[]; env: Record<string, string> } => ({
    command: context.oursNode,
    args: [BUNDLE, 'fetch', uri, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${out}`, '-Duser.artifacts.raw-http-enabled=true', `-Ds3.endpoint=${s3Capped}`, `-Ds3.access-key=${context.accessKey}`, `-Ds3.secret-key=${context.secretKey}`, ...extra],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const awsEnv = { AWS_ACCESS_KEY_ID: context.accessKey, AWS_SECRET_ACCESS_KEY: context.secretKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  const verify = async (contender: string): Promise<void> => {
    const found = await filesIn(clusterDir);
    if (found.count !== 1 || found.bytes !== size) throw new Error(`${contender}: ${found.count} files, ${found.bytes} bytes`);
  };
  const s3Uri = `s3://${context.bucket}/capped/${name}`;
  return [
    {
      id: `fetch-capped-s3-${label}`,
      title: `Fetch under a 50 MB/s per-connection cap: 1 × ${label} from S3`,
      rounds: context.rounds,
      contenders: [
        { name: 'flink-artifacts fetch (8 parallel ranges, default)', ours: true, prepare: () => emptyDir(out), command: () => ours(s3Uri) },
        { name: 'flink-artifacts fetch, one stream (parallel-ranges=1)', ours: false, prepare: () => emptyDir(out), command: () => ours(s3Uri, ['-Dflink-artifacts.fetch.parallel-ranges=1']) },
        { name: 'aws s3 cp', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ command: AWS_CLI, args: ['--endpoint-url', s3Capped, 's3', 'cp', '--quiet', s3Uri, target], env: awsEnv }) },
        {
          name: 'curl (SigV4) -o file',
          ours: false,
          prepare: () => emptyDir(clusterDir),
          command: () => ({ command: 'curl', args: ['-sf', '-o', target, '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${context.accessKey}:${context.secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', `${s3Capped}/${context.bucket}/capped/${name}`] }),
        },
      ],
      verify,
    },
    {
      id: `fetch-capped-http-${label}`,
      title: `Fetch under a 50 MB/s per-connection cap: 1 × ${label} from HTTP (nginx)`,
      rounds: context.rounds,
      contenders: [
        { name: 'flink-artifacts fetch (8 parallel ranges, default)', ours: true, prepare: () => emptyDir(out), command: () => ours(`${httpCapped}/${name}`) },
        { name: 'flink-artifacts fetch, one stream (parallel-ranges=1)', ours: false, prepare: () => emptyDir(out), command: () => ours(`${httpCapped}/${name}`, ['-Dflink-artifacts.fetch.parallel-ranges=1']) },
        { name: 'curl -o file', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ command: 'curl', args: ['-sf', '-o', target, `${httpCapped}/${name}`] }) },
      ],
      verify,
    },
  ];
}
