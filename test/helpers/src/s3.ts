/**
 * The real S3 server for tests: a single-node Ceph RADOS Gateway. The test runner starts one
 * for the whole run and passes its address in FA_TEST_S3_* variables; a test file run on its own
 * starts a private one (about 20 s) and stops it when the process exits.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const run = promisify(execFile);
const RGW_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'servers', 'rgw.sh');

export interface TestS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** An SDK client for arranging test data (not the code under test). */
  client: S3Client;
  /** Flink options that point our S3 driver at this server. */
  flinkOptions: Record<string, string>;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void>;
}

let shared: Promise<TestS3> | undefined;

/** The test S3 server: the run's shared one, or a private one started on first use. */
export function useS3(): Promise<TestS3> {
  shared ??= connectOrStart();
  return shared;
}

async function connectOrStart(): Promise<TestS3> {
  const env = process.env;
  if (env.FA_TEST_S3_ENDPOINT && env.FA_TEST_S3_ACCESS_KEY && env.FA_TEST_S3_SECRET_KEY) {
    return connect(env.FA_TEST_S3_ENDPOINT, env.FA_TEST_S3_ACCESS_KEY, env.FA_TEST_S3_SECRET_KEY);
  }
  const started = await startRgw();
  return connect(started.endpoint, started.accessKey, started.secretKey);
}

/** Starts a private RGW; stopped when this process exits. */
export async function startRgw(): Promise<{ endpoint: string; accessKey: string; secretKey: string; dir: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fa-rgw-'));
  const port = await freePort();
  const { stdout } = await run('bash', [RGW_SCRIPT, 'start', dir, String(port)], {
    env: { ...process.env, RGW_MON_PORT: String(await freePort()) },
  });
  const values = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  const stopSync = (): void => {
    try {
      execFileSync('bash', [RGW_SCRIPT, 'stop', dir]);
    } catch {
      // best effort at exit
    }
  };
  process.once('exit', stopSync);
  return {
    endpoint: values.S3_ENDPOINT!,
    accessKey: values.S3_ACCESS_KEY!,
    secretKey: values.S3_SECRET_KEY!,
    dir,
    async stop() {
      process.removeListener('exit', stopSync);
      await run('bash', [RGW_SCRIPT, 'stop', dir]);
    },
  };
}

function connect(endpoint: string, accessKey: string, secretKey: string): TestS3 {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    accessKey,
    secretKey,
    client,
    flinkOptions: {
      's3.endpoint': endpoint,
      's3.path.style.access': 'true',
      's3.access-key': accessKey,
      's3.secret-key': secretKey,
    },
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body, metadata) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(metadata ? { Metadata: metadata } : {}) }));
    },
  };
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
