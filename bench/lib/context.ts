import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { CommandSpec } from './measure.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WORK = join(ROOT, 'bench', '.work');
/** What the image runs: the bundled CLI (made by run.ts before the cases). */
export const BUNDLE = join(WORK, 'flink-artifacts.mjs');
/** The image's Node (24, from docker/build-local.sh) when present, else this process's. */
export const NODE_24 = join(ROOT, '.tmp', 'image', 'node-24.22.3', 'bin', 'node');
/** Debian's AWS CLI (v2): the one a fresh machine gets, not whatever a Python env shims in. */
export const AWS_CLI = '/usr/bin/aws';

/**
 * An AWS CLI v1 on PATH (a Python environment's `aws`), when one is installed: the issue's
 * second contender for many small files. Undefined on a machine without one.
 */
export function findAwsCliV1(): string | undefined {
  const found = spawnSync('bash', ['-c', 'type -a -P aws'], { encoding: 'utf8' }).stdout.split('\n').filter((path) => path !== '' && path !== AWS_CLI);
  for (const path of found) {
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (/^aws-cli\/1\./.test(`${version.stdout}${version.stderr}`)) return path;
  }
  return undefined;
}

/** What every case needs: the S3 server, a bucket, data files and command builders. */
export interface BenchContext {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly s3: S3Client;
  readonly rounds: number;
  /** The Node binary that runs ours. */
  readonly oursNode: string;
  /** `flink-artifacts <args>` with the S3 options. */
  ours(args: readonly string[]): CommandSpec;
  /** `curl` reading an object with SigV4 (the physical reference for S3 reads). */
  curlS3(key: string, output: string): CommandSpec;
  /** Puts a local file into the bucket (setup, streamed). */
  seed(key: string, file: string): Promise<void>;
  /** `aws <args>` pointed at the S3 server. */
  aws(args: readonly string[]): CommandSpec;
  /** A file of random bytes under bench/.work, made once. */
  dataFile(name: string, size: number): Promise<string>;
  sizeLabel(size: number): string;
}

export function createContext(options: { endpoint: string; accessKey: string; secretKey: string; bucket: string; rounds: number; oursNode: string }): BenchContext {
  const s3 = new S3Client({
    endpoint: options.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const made = new Map<string, Promise<string>>();
  const awsEnv = {
    AWS_ACCESS_KEY_ID: options.accessKey,
    AWS_SECRET_ACCESS_KEY: options.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return {
    ...options,
    s3,
    ours(args) {
      return {
        command: options.oursNode,
        args: [
          BUNDLE,
          ...args,
          `-Ds3.endpoint=${options.endpoint}`,
          `-Ds3.access-key=${options.accessKey}`,
          `-Ds3.secret-key=${options.secretKey}`,
        ],
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      };
    },
    curlS3(key, output) {
      return {
        command: 'curl',
        args: ['-sf', '-o', output, '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${options.accessKey}:${options.secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', `${options.endpoint}/${options.bucket}/${key}`],
      };
    },
    async seed(key, file) {
      await new Upload({ client: s3, params: { Bucket: options.bucket, Key: key, Body: createReadStream(file) }, partSize: 16 * 1024 * 1024, queueSize: 4 }).done();
    },
    aws(args) {
      return { command: AWS_CLI, args: ['--endpoint-url', options.endpoint, ...args], env: awsEnv };
    },
    dataFile(name, size) {
      let file = made.get(name);
      if (file === undefined) {
        file = writeRandom(join(WORK, 'data', name), size);
        made.set(name, file);
      }
      return file;
    },
    sizeLabel(size) {
      if (size >= 1024 ** 3 && size % 1024 ** 3 === 0) return `${size / 1024 ** 3}GiB`;
      if (size >= 1024 ** 2 && size % 1024 ** 2 === 0) return `${size / 1024 ** 2}MiB`;
      return `${size}B`;
    },
  };
}

async function writeRandom(path: string, size: number): Promise<string> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) return path;
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const chunk = 4 * 1024 * 1024;
  for (let written = 0; written < size; written += chunk) {
    const piece = randomBytes(Math.min(chunk, size - written));
    if (!out.write(piece)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return path;
}
