/**
 * The local side and the edges: a full or read-only disk, SIGTERM during an upload, custom CA
 * bundles and redirect limits. The disk cases mount small tmpfs volumes, which needs root (CI
 * runs as root); elsewhere they are skipped, and say so.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { flinkArgs, runCli, startCli } from '@flink-artifacts/test-helpers/cli';
import { startFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { randomContent, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;
// Reason: mounting a tmpfs (to get a full or read-only filesystem) needs root.
const rootOnly = asRoot ? test : test.skip;

async function mountTmpfs(t: import('ava').ExecutionContext, options: string): Promise<string> {
  const dir = join(await tempDir('fa-mnt-'), 'volume');
  await mkdir(dir);
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  t.teardown(() => run('umount', [dir]).then(() => undefined, () => undefined));
  return dir;
}

rootOnly('a full disk is a clear error naming the artifact and where it was going; the temporary file is removed', async (t) => {
  const base = await mountTmpfs(t, 'size=1m');
  const src = await tempDir();
  await writeFixture(join(src, 'big.jar'), randomContent(3 * 1024 * 1024));
  const result = await runCli(['fetch', `file://${src}/big.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`]);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`cannot write file://${src}/big\\.jar to ${base}/default/app/big\\.jar: no space left on device`));
  t.notRegex(result.stderr, /\.part/, 'the temporary file is ours, not the user\'s concern');
  t.deepEqual((await readdir(join(base, 'default', 'app', '.flink-artifacts'), { recursive: true })).filter((n) => n !== 'owners'), []);
  t.deepEqual((await readdir(join(base, 'default', 'app'))).filter((n) => n !== '.flink-artifacts'), []);
});

rootOnly('a read-only artifacts directory is a clear error naming it', async (t) => {
  const base = await mountTmpfs(t, 'ro,size=1m');
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const result = await runCli(['fetch', `file://${src}/job.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`]);
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`cannot write ${base}/default/app: read-only filesystem`));
});

test('SIGTERM during a multipart upload: exit 143, the upload is aborted, no object, no pending parts', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('sigterm');
  await s3.createBucket(bucket);
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  // Hold every part upload for a while, so the process is surely mid-upload when signalled.
  proxy.inject({ method: 'PUT', path: /partNumber=/, fault: { kind: 'hold', ms: 5000 }, times: 100 });
  const src = await tempDir();
  await writeFixture(join(src, 'big.jar'), randomContent(70 * 1024 * 1024));
  const cli = startCli([
    'upload',
    `${src}/big.jar`,
    ...flinkArgs({ ...s3.flinkOptions, 's3.endpoint': proxy.url, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/jobs/` }),
  ]);
  const deadline = Date.now() + 20_000;
  while (!proxy.requests.some((r) => /partNumber=/.test(r.path)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  cli.child.kill('SIGTERM');
  const result = await cli.result;
  t.is(result.code, 143, result.stderr);
  const pending = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.deepEqual(pending.Uploads ?? [], []);
  const objects = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.is(objects.KeyCount, 0);
});

test('a CA bundle from flink-artifacts.tls.ca-file is trusted; without it the error says how to fix it', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'tls');
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const args = ['fetch', `${server.url}/job.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`];
  const untrusted = await runCli(args);
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /certificate/i);
  t.regex(untrusted.stderr, /flink-artifacts\.tls\.ca-file or NODE_EXTRA_CA_CERTS/);
  const trusted = await runCli([...args, `-Dflink-artifacts.tls.ca-file=${tls.certPath}`]);
  t.is(trusted.code, 0, trusted.stderr);
});

test('redirects are followed within a limit; a loop is a clear error', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'moved');
  const server = await startHttpServer({ root, redirects: { '/old.jar': '/job.jar', '/loop.jar': '/loop.jar' } });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const common = ['-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`, '-Duser.artifacts.raw-http-enabled=true'];
  const moved = await runCli(['fetch', `${server.url}/old.jar`, ...common]);
  t.is(moved.code, 0, moved.stderr);
  const loop = await runCli(['fetch', `${server.url}/loop.jar`, ...common]);
  t.is(loop.code, 1);
  t.regex(loop.stderr, /redirect/i);
  t.true(server.requests.filter((r) => r.path === '/loop.jar').length <= 11, 'at most 10 redirects are followed');
});
