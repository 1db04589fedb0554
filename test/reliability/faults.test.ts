/**
 * Faults between the fetcher and real servers, injected by a proxy: transient ones must end in
 * identical bytes (retried, resumed where possible), permanent ones in a clear error and no
 * file in place.
 */
import { createServer, type Server } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { DEFAULT_TRANSFER_POLICY, type TransferPolicy } from '@flink-artifacts/core';
import { FetchFailedError, fetchArtifacts, type FetchEvent } from '@flink-artifacts/fetcher';
import { uploadArtifacts } from '@flink-artifacts/client';
import { flinkArgs, runCli } from '@flink-artifacts/test-helpers/cli';
import { startFaultProxy, type RunningFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { listFiles, randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const fast: TransferPolicy = { ...DEFAULT_TRANSFER_POLICY, initialBackoffMs: 10, maxBackoffMs: 50, idleTimeoutMs: 1000, connectTimeoutMs: 2000 };
const MiB = 1024 * 1024;

async function s3Behind(t: import('ava').ExecutionContext, objects: Record<string, Buffer>): Promise<{ proxy: RunningFaultProxy; bucket: string; options: Record<string, string> }> {
  const s3 = await useS3();
  const bucket = uniqueBucket('fault');
  await s3.createBucket(bucket);
  await Promise.all(Object.entries(objects).map(([key, body]) => s3.put(bucket, key, body)));
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  return { proxy, bucket, options: { ...s3.flinkOptions, 's3.endpoint': proxy.url } };
}

function config(base: string, extra: Record<string, string>): Map<string, string> {
  return new Map(Object.entries({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, ...extra }));
}

async function fetchWith(base: string, extra: Record<string, string>, jobUri: string, events: FetchEvent[] = []) {
  return fetchArtifacts({ config: config(base, extra), jobUri, policy: fast, onEvent: (e) => events.push(e) });
}

test('S3: 503 SlowDown answers are retried, each retry reported with its reason', async (t) => {
  const content = randomContent(MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'status', status: 503 }, times: 2 });
  const base = await tempDir();
  const events: FetchEvent[] = [];
  const report = await fetchWith(base, options, `s3://${bucket}/job.jar`, events);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  const retries = events.filter((e) => e.type === 'retry');
  t.is(retries.length, 2);
  t.regex(retries[0]!.type === 'retry' ? retries[0]!.reason : '', /503/);
});

test('S3: a connection reset mid-body resumes with a Range request and yields identical bytes', async (t) => {
  const content = randomContent(3 * MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'reset', afterBytes: MiB + 123 } });
  const base = await tempDir();
  const report = await fetchWith(base, options, `s3://${bucket}/job.jar`);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  const gets = proxy.requests.filter((r) => r.method === 'GET');
  t.is(gets.length, 2);
  t.regex(gets[1]!.range ?? '', /^bytes=[1-9]\d*-$/, 'the second request asks only for the rest');
  t.is(report.bytes, content.length);
});

test('S3: a body cut short under an intact Content-Length is resumed, not saved short', async (t) => {
  const content = randomContent(2 * MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'truncate', afterBytes: 700_000 } });
  const base = await tempDir();
  const report = await fetchWith(base, options, `s3://${bucket}/job.jar`);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
});

test('S3: a stalled body hits the idle timeout and the retry completes', async (t) => {
  const content = randomContent(MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'stall', afterBytes: 100_000 } });
  const base = await tempDir();
  const events: FetchEvent[] = [];
  const started = Date.now();
  const report = await fetchWith(base, options, `s3://${bucket}/job.jar`, events);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  t.true(Date.now() - started < 10_000);
  t.regex(events.find((e) => e.type === 'retry')?.type === 'retry' ? (events.find((e) => e.type === 'retry') as { reason: string }).reason : '', /stalled/);
});

test('S3: one corrupted byte is a checksum mismatch: not retried, nothing saved', async (t) => {
  const content = randomContent(MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'corrupt', atByte: 4242 } });
  const base = await tempDir();
  const error = await t.throwsAsync(fetchWith(base, options, `s3://${bucket}/job.jar`), { instanceOf: FetchFailedError });
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  t.is(proxy.requests.filter((r) => r.method === 'GET').length, 1, 'a permanent failure is not retried');
  t.deepEqual(await listFiles(join(base, 'default', 'app')), []);
});

test('S3: missing objects and denied access are not retried', async (t) => {
  const { proxy, bucket, options } = await s3Behind(t, {});
  const base = await tempDir();
  await t.throwsAsync(fetchWith(base, options, `s3://${bucket}/missing.jar`), { instanceOf: FetchFailedError });
  t.is(proxy.requests.length, 1);
  await t.throwsAsync(fetchWith(base, { ...options, 's3.secret-key': 'wrong' }, `s3://${bucket}/missing.jar`), { instanceOf: FetchFailedError });
  t.is(proxy.requests.length, 2);
});

async function azureBehind(t: import('ava').ExecutionContext, blobs: Record<string, Buffer>): Promise<{ proxy: RunningFaultProxy; uri: (name: string) => string; options: Record<string, string> }> {
  const azure = await useAzure();
  const container = uniqueBucket('fault');
  await azure.createContainer(container);
  await Promise.all(Object.entries(blobs).map(([name, body]) => azure.put(container, name, body)));
  const proxy = await startFaultProxy(new URL(azure.endpoint).origin);
  t.teardown(() => proxy.stop());
  return { proxy, uri: (name) => azure.uri(container, name), options: { ...azure.flinkOptions, 'flink-artifacts.azure.endpoint': `${proxy.url}/${azure.account}` } };
}

test('Azure: 503s are retried; a reset mid-body resumes with a ranged read; the bytes are identical', async (t) => {
  // Large enough that the cut comes while the body is being written: the SDK's stream drops
  // what it buffered when the connection fails, so a cut before the first read starts over.
  const content = randomContent(24 * MiB);
  const { proxy, uri, options } = await azureBehind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'status', status: 503 }, times: 1 });
  proxy.inject({ fault: { kind: 'reset', afterBytes: 16 * MiB + 321 } });
  const base = await tempDir();
  const events: FetchEvent[] = [];
  const report = await fetchWith(base, options, uri('job.jar'), events);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  t.is(report.bytes, content.length);
  const gets = proxy.requests.filter((r) => r.method === 'GET');
  t.is(gets.length, 3, 'the 503, the cut body, the rest');
  t.regex(gets[2]!.range ?? '', /^bytes=[1-9]\d*-$/, 'the last request asks only for the rest');
  t.is(events.filter((e) => e.type === 'retry').length, 2);
});

test('Azure: one corrupted byte is caught by the blob\'s Content-MD5: not retried, nothing saved', async (t) => {
  const content = randomContent(MiB);
  const { proxy, uri, options } = await azureBehind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'corrupt', atByte: 777 } });
  const base = await tempDir();
  const error = await t.throwsAsync(fetchWith(base, options, uri('job.jar')), { instanceOf: FetchFailedError });
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  t.is(proxy.requests.filter((r) => r.method === 'GET').length, 1);
  t.deepEqual(await listFiles(join(base, 'default', 'app')), []);
});

test('Azure: a block that fails is sent again alone; one that keeps failing ends the upload, nothing published', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('blocks');
  await azure.createContainer(container);
  const proxy = await startFaultProxy(new URL(azure.endpoint).origin);
  t.teardown(() => proxy.stop());
  const src = await tempDir();
  const content = randomContent(80 * MiB);
  await writeFixture(join(src, 'big.jar'), content);
  const config = (prefix: string) =>
    new Map(Object.entries({ ...azure.flinkOptions, 'flink-artifacts.azure.endpoint': `${proxy.url}/${azure.account}`, 'kubernetes.artifacts.local-upload-target': azure.uri(container, `${prefix}/`) }));
  // Block IDs are base64 of "<writer>-<index, 6 digits>": the second block's ends in "1".
  const secondBlock = (prefix: string) => new RegExp(`/${prefix}/big\\.jar\\?.*comp=block&.*blockid=[^&]*MQ%3D%3D`);
  const blockRequests = (prefix: string) => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`/${prefix}/big.jar?`) && r.path.includes('comp=block&'));

  proxy.inject({ method: 'PUT', path: secondBlock('ok'), fault: { kind: 'status', status: 503 }, times: 2 });
  // Azurite (JavaScript) stores each 16 MiB block before it answers: on a busy machine that can
  // take longer than the 1 s idle timeout of `fast`, which is not what this test is about.
  const patient = { ...fast, idleTimeoutMs: 20_000 };
  const report = await uploadArtifacts({ config: config('ok'), jobUri: `${src}/big.jar`, policy: patient, checksumCache: false });
  t.is(report.items[0]?.status, 'uploaded');
  t.is(blockRequests('ok').length, 5 + 2, 'five blocks, the second sent three times');
  t.is(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/ok/big.jar?') && r.path.includes('comp=blocklist')).length, 1);
  const properties = await azure.service.getContainerClient(container).getBlobClient('ok/big.jar').getProperties();
  t.is(properties.metadata?.sha256, sha256Hex(content));
  t.is(properties.contentLength, content.length);

  proxy.inject({ method: 'PUT', path: secondBlock('bad'), fault: { kind: 'status', status: 503 }, times: 1000 });
  const error = await t.throwsAsync(uploadArtifacts({ config: config('bad'), jobUri: `${src}/big.jar`, policy: { ...patient, maxAttempts: 3 }, checksumCache: false }));
  t.regex(error.message, /big\.jar \(block 2 of 5\): upload failed .*HTTP 503/);
  t.is(blockRequests('bad').filter((r) => secondBlock('bad').test(r.path)).length, 3, 'three attempts of the block, not of the whole blob');
  t.false(await azure.service.getContainerClient(container).getBlobClient('bad/big.jar').exists(), 'nothing was published');
});

test('attempts are bounded: a server that keeps failing ends in a clear error after max-attempts', async (t) => {
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': Buffer.from('x') });
  proxy.inject({ fault: { kind: 'status', status: 503 }, times: 100 });
  const base = await tempDir();
  const error = await t.throwsAsync(
    fetchArtifacts({ config: config(base, options), jobUri: `s3://${bucket}/job.jar`, policy: { ...fast, maxAttempts: 3 } }),
    { instanceOf: FetchFailedError },
  );
  t.is(proxy.requests.length, 3);
  t.regex(error.message, /503/);
  t.deepEqual(await listFiles(join(base, 'default', 'app')), []);
});

test('HTTP: reset and truncated bodies resume with If-Range; 503s are retried', async (t) => {
  const root = await tempDir();
  const content = randomContent(2 * MiB);
  await writeFixture(join(root, 'job.jar'), content);
  const server = await startHttpServer({ root });
  const proxy = await startFaultProxy(server.url);
  t.teardown(async () => {
    await proxy.stop();
    await server.stop();
  });
  proxy.inject({ fault: { kind: 'status', status: 503 } });
  proxy.inject({ fault: { kind: 'reset', afterBytes: 500_000 } });
  proxy.inject({ fault: { kind: 'truncate', afterBytes: 1_200_000 } });
  const base = await tempDir();
  const report = await fetchWith(base, { 'user.artifacts.raw-http-enabled': 'true' }, `${proxy.url}/job.jar`);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  const gets = proxy.requests.filter((r) => r.method === 'GET');
  t.deepEqual(gets.map((r) => r.fault ?? 'none'), ['status', 'reset', 'truncate', 'none']);
  t.regex(gets[3]!.range ?? '', /^bytes=\d+-$/);
});

test('HTTP: a file that changed between attempts is fetched again whole, never spliced', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), randomContent(MiB));
  const server = await startHttpServer({ root });
  const proxy = await startFaultProxy(server.url);
  t.teardown(async () => {
    await proxy.stop();
    await server.stop();
  });
  const replacement = randomContent(MiB + 10);
  proxy.inject({ fault: { kind: 'reset', afterBytes: 300_000 } });
  const base = await tempDir();
  const pending = fetchWith(base, { 'user.artifacts.raw-http-enabled': 'true' }, `${proxy.url}/job.jar`);
  // Replace the file while the first attempt is failing; the validators (ETag) change with it.
  await writeFixture(join(root, 'job.jar'), replacement);
  const report = await pending;
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(replacement));
});

test('GCS: 503 answers on metadata and media are retried', async (t) => {
  const gcs = await startGcsServer();
  gcs.createBucket('b');
  const content = randomContent(MiB);
  await gcs.putObject('b', 'job.jar', content);
  const proxy = await startFaultProxy(gcs.url);
  t.teardown(async () => {
    await proxy.stop();
    await gcs.stop();
  });
  proxy.inject({ fault: { kind: 'status', status: 503 } });
  proxy.inject({ path: /alt=media/, fault: { kind: 'reset', afterBytes: 200_000 } });
  const base = await tempDir();
  const report = await fetchArtifacts({ config: config(base, {}), jobUri: 'gs://b/job.jar', policy: fast, storage: { gcs: { apiEndpoint: proxy.url, projectId: 'test' } } });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
});

test('a server that accepts connections and never answers times out (retried, then a clear error)', async (t) => {
  const sockets = new Set<import('node:net').Socket>();
  const silent: Server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const port = (silent.address() as import('node:net').AddressInfo).port;
  const base = await tempDir();
  const started = Date.now();
  const error = await t.throwsAsync(
    fetchArtifacts({
      config: config(base, { 'user.artifacts.raw-http-enabled': 'true' }),
      jobUri: `http://127.0.0.1:${port}/job.jar`,
      policy: { ...fast, connectTimeoutMs: 300, maxAttempts: 2 },
    }),
    { instanceOf: FetchFailedError },
  );
  t.regex(error.message, /no answer within|timeout/i);
  t.true(Date.now() - started < 5000);
});

test('uploads retry transient failures too (S3 503 on PUT)', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('upfault');
  await s3.createBucket(bucket);
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  proxy.inject({ method: 'PUT', fault: { kind: 'status', status: 503 }, times: 2 });
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'upload me');
  const report = await uploadArtifacts({
    config: new Map(Object.entries({ ...s3.flinkOptions, 's3.endpoint': proxy.url, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/p/` })),
    jobUri: `${src}/job.jar`,
    policy: fast,
  });
  t.is(report.uploaded, 1);
  t.is(report.items[0]?.uri, `s3://${bucket}/p/job.jar`);
  t.is(proxy.requests.filter((r) => r.method === 'PUT').length, 3);
});

test('the CLI logs every retry with its reason, then succeeds', async (t) => {
  const content = randomContent(MiB);
  const { proxy, bucket, options } = await s3Behind(t, { 'job.jar': content });
  proxy.inject({ fault: { kind: 'status', status: 503 } });
  const base = await tempDir();
  const result = await runCli([
    'fetch',
    `s3://${bucket}/job.jar`,
    ...flinkArgs({ ...options, 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'flink-artifacts.retry.initial-backoff': '10 ms' }),
  ]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /^retry +attempt 1 of 5 failed, next in \d+ ms: s3:\/\/.*job\.jar: GET failed .*\(HTTP 503\)/m);
});

test('large objects (hashed on the worker thread) are verified too: reset resumes, a corrupt byte is caught', async (t) => {
  const content = randomContent(40 * MiB);
  const { proxy, bucket, options: s3Options } = await s3Behind(t, { 'big.jar': content });
  // As one stream (ranges.test.ts covers parallel ranges): the resume of a single body.
  const options = { ...s3Options, 'flink-artifacts.fetch.parallel-ranges': '1' };
  proxy.inject({ fault: { kind: 'reset', afterBytes: 15 * MiB } });
  const base = await tempDir();
  const report = await fetchWith(base, options, `s3://${bucket}/big.jar`);
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  t.regex(proxy.requests.filter((r) => r.method === 'GET')[1]?.range ?? '', /^bytes=\d+-$/);

  proxy.inject({ fault: { kind: 'corrupt', atByte: 33 * MiB + 7 } });
  const other = await tempDir();
  const error = await t.throwsAsync(fetchWith(other, options, `s3://${bucket}/big.jar`), { instanceOf: FetchFailedError });
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  t.deepEqual(await listFiles(join(other, 'default', 'app')), []);
});
