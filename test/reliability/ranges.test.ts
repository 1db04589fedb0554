/**
 * Large objects in parallel ranges, against the real servers: every store's ranges give the
 * same bytes, verified end to end; ranges are pinned to one version (a change restarts, never
 * splices); a cut range resumes alone; a killed fetcher's finished ranges are kept; servers
 * without ranges get one stream.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import { DEFAULT_TRANSFER_POLICY, type RangePolicy, type TransferPolicy } from '@flink-artifacts/core';
import { FetchFailedError, fetchArtifacts } from '@flink-artifacts/fetcher';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { flinkArgs, startCli } from '@flink-artifacts/test-helpers/cli';
import { startFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { listFiles, randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const MiB = 1024 * 1024;
const fast: TransferPolicy = { ...DEFAULT_TRANSFER_POLICY, initialBackoffMs: 10, maxBackoffMs: 50, idleTimeoutMs: 10_000, connectTimeoutMs: 5000 };
const ranges: RangePolicy = { parallel: 4, rangeBytes: 4 * MiB };

const config = (base: string, extra: Record<string, string> = {}) => new Map(Object.entries({ 'kubernetes.cluster-id': 'rng', 'user.artifacts.base-dir': base, ...extra }));
const rangeHeaders = (requests: readonly { range?: string | undefined }[]) => requests.map((r) => r.range).filter((r): r is string => r !== undefined && /^bytes=\d+-\d+$/.test(r));

/** What the part file's record (the one part in the state directory) says about its ranges. */
async function recordedRanges(stateDir: string): Promise<{ done: number[]; written?: Record<string, number> } | undefined> {
  const records = (await readdir(stateDir).catch(() => [] as string[])).filter((name) => name.endsWith('.part.json'));
  const text = records.length === 0 ? '{}' : await readFile(join(stateDir, records[0]!), 'utf8').catch(() => '{}');
  return (JSON.parse(text) as { ranges?: { done: number[]; written?: Record<string, number> } }).ranges;
}

test('S3, Azure, GCS and HTTP: a large object comes in parallel ranges, pinned and verified, the same bytes', async (t) => {
  const content = randomContent(18 * MiB + 12_345);
  const sha256 = sha256Hex(content);

  // S3 (RGW), through a proxy that records the ranges asked for.
  const s3 = await useS3();
  const bucket = uniqueBucket('rng');
  await s3.createBucket(bucket);
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.jar', Body: content, Metadata: { sha256 } }));
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  let base = await tempDir();
  let report = await fetchArtifacts({ config: config(base, { ...s3.flinkOptions, 's3.endpoint': proxy.url }), jobUri: `s3://${bucket}/big.jar`, policy: fast, ranges });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256, 's3');
  const asked = rangeHeaders(proxy.requests);
  t.is(asked.length, 5, `s3: five ranges of 4 MiB: ${asked.join(' ')}`);
  t.deepEqual(asked.map((r) => Number(/=(\d+)-/.exec(r)![1])).sort((a, b) => a - b), [0, 4, 8, 12, 16].map((m) => m * MiB));

  // Azure (Azurite).
  const azure = await useAzure();
  const container = uniqueBucket('rng');
  await azure.createContainer(container);
  await azure.put(container, 'big.jar', content, { sha256 });
  base = await tempDir();
  report = await fetchArtifacts({ config: config(base, azure.flinkOptions), jobUri: azure.uri(container, 'big.jar'), policy: fast, ranges });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256, 'azure');

  // GCS (the test server), with its md5Hash and crc32c.
  const gcs = await startGcsServer();
  t.teardown(() => gcs.stop());
  gcs.createBucket('bkt');
  await gcs.putObject('bkt', 'big.jar', content);
  base = await tempDir();
  report = await fetchArtifacts({ config: config(base), jobUri: 'gs://bkt/big.jar', policy: fast, ranges, storage: { gcs: { apiEndpoint: gcs.url, projectId: 'test' } } });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256, 'gcs');
  // The first read's media request is never sent: its body is dropped before it is read.
  t.is(gcs.requests.filter((r) => r.query.alt === 'media').length, 5, `gcs: one media request per range: ${JSON.stringify(gcs.requests.map((r) => [r.method, r.path, r.query.alt]))}`);

  // HTTP (Node's server, Accept-Ranges, ETag), with Content-MD5 to check against.
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  const http = await startHttpServer({ root, contentMd5: true });
  t.teardown(() => http.stop());
  base = await tempDir();
  report = await fetchArtifacts({ config: config(base, { 'user.artifacts.raw-http-enabled': 'true' }), jobUri: `${http.url}/big.jar`, policy: fast, ranges });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256, 'http');
  const httpRanges = http.requests.filter((r) => r.headers.range !== undefined);
  t.is(httpRanges.length, 5);
  t.true(httpRanges.every((r) => r.headers['if-range'] !== undefined), 'every range is pinned with If-Range');
  t.true(http.maxInFlight >= 2, `ranges in flight at once: ${http.maxInFlight}`);
});

test('a range cut mid-way resumes alone from its last byte; a corrupt byte in a range is a checksum mismatch, nothing saved', async (t) => {
  const content = randomContent(16 * MiB);
  const s3 = await useS3();
  const bucket = uniqueBucket('rngcut');
  await s3.createBucket(bucket);
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.jar', Body: content, Metadata: { sha256: sha256Hex(content) } }));
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  const options = { ...s3.flinkOptions, 's3.endpoint': proxy.url };
  // The range at 4 MiB is cut after 1 MiB.
  proxy.inject({ range: /^bytes=4194304-/, fault: { kind: 'reset', afterBytes: MiB } });
  const base = await tempDir();
  const report = await fetchArtifacts({ config: config(base, options), jobUri: `s3://${bucket}/big.jar`, policy: fast, ranges });
  t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(content));
  const asked = rangeHeaders(proxy.requests).sort((a, b) => Number(/=(\d+)/.exec(a)![1]) - Number(/=(\d+)/.exec(b)![1]));
  t.is(asked.length, 5, asked.join(' '));
  t.deepEqual(asked.filter((r) => r !== asked[2]), ['bytes=0-4194303', 'bytes=4194304-8388607', 'bytes=8388608-12582911', 'bytes=12582912-16777215']);
  const resumed = Number(/^bytes=(\d+)-8388607$/.exec(asked[2] ?? '')?.[1]);
  t.true(resumed > 4 * MiB && resumed <= 5 * MiB, `the cut range resumed from its last byte written, alone: ${asked.join(' ')}`);

  // A flipped byte: the stored SHA-256 catches it; permanent, nothing in place.
  proxy.inject({ path: /big\.jar/, fault: { kind: 'corrupt', atByte: 777 }, times: 10 });
  const base2 = await tempDir();
  const error = await t.throwsAsync(fetchArtifacts({ config: config(base2, options), jobUri: `s3://${bucket}/big.jar`, policy: fast, ranges }), { instanceOf: FetchFailedError });
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  t.deepEqual(await listFiles(join(base2, 'default', 'rng')), []);
});

test('an object that changes while its ranges come is fetched again whole: never spliced from two versions', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('rngchg');
  await s3.createBucket(bucket);
  const v1 = randomContent(16 * MiB);
  const v2 = randomContent(16 * MiB);
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.jar', Body: v1 }));
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  // Hold the ranges for a moment, and replace the object meanwhile.
  proxy.inject({ path: /big\.jar/, fault: { kind: 'hold', ms: 400 }, times: 3 });
  let replaced = false;
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: config(base, { ...s3.flinkOptions, 's3.endpoint': proxy.url }),
    jobUri: `s3://${bucket}/big.jar`,
    policy: fast,
    ranges,
    onEvent: (event) => {
      if (event.type === 'start' && !replaced) {
        replaced = true;
        void s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.jar', Body: v2 }));
      }
    },
  });
  const got = await readFile(report.jobJar!);
  t.true(got.equals(v1) || got.equals(v2), 'one version, whole');
  t.true(got.equals(v2), 'the version after the change (the first ranges were refused with 412)');
});

test('SIGKILL during a ranged fetch: the next fetcher keeps the finished ranges and asks only for the rest', async (t) => {
  const content = randomContent(24 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  // 8 MB/s per connection: slow enough to kill the fetcher mid-way.
  const http = await startHttpServer({ root, bytesPerSecond: 8 * MiB });
  t.teardown(() => http.stop());
  const base = await tempDir();
  const args = ['fetch', `${http.url}/big.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'rng', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'flink-artifacts.fetch.range-size': '4 mb', 'flink-artifacts.fetch.parallel-ranges': '2' })];
  const stateDir = join(base, 'default', 'rng', '.flink-artifacts');
  const first = startCli(args);
  // Kill it once its record says two ranges are in.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const done = (await recordedRanges(stateDir))?.done.length ?? 0;
    if (done >= 2 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  first.child.kill('SIGKILL');
  await first.result;
  const servedBefore = http.requests.reduce((sum, r) => sum + r.bytes, 0);
  // The fetcher that was killed holds no heartbeat now; wait until it counts as gone.
  await new Promise((resolve) => setTimeout(resolve, 3500));
  const second = await startCli(args).result;
  t.is(second.code, 0, second.stderr);
  t.is(createHash('sha256').update(await readFile(join(base, 'default', 'rng', 'big.jar'))).digest('hex'), sha256Hex(content));
  const servedAfter = http.requests.reduce((sum, r) => sum + r.bytes, 0) - servedBefore;
  t.true(servedAfter <= content.length - 2 * 4 * MiB + MiB, `the second fetcher got ${servedAfter} bytes, not the whole ${content.length}`);
});

test('a server without ranges (no Accept-Ranges) gets one stream; small objects too', async (t) => {
  const content = randomContent(12 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  await writeFixture(join(root, 'small.jar'), 'small');
  const http = await startHttpServer({ root, ranges: false });
  t.teardown(() => http.stop());
  const base = await tempDir();
  const report = await fetchArtifacts({ config: config(base, { 'user.artifacts.raw-http-enabled': 'true', 'user.artifacts.artifact-list': `${http.url}/small.jar` }), jobUri: `${http.url}/big.jar`, policy: fast, ranges });
  t.true((await readFile(report.jobJar!)).equals(content));
  t.is(http.requests.filter((r) => r.method === 'GET').length, 2, 'one GET per object');
  t.true(http.requests.every((r) => r.headers.range === undefined));
});

test('a server that says it serves ranges but answers them with the whole object: one stream, right bytes, no failed ranges', async (t) => {
  const content = randomContent(12 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  const http = await startHttpServer({ root, ranges: 'ignored' });
  t.teardown(() => http.stop());
  const base = await tempDir();
  const report = await fetchArtifacts({ config: config(base, { 'user.artifacts.raw-http-enabled': 'true' }), jobUri: `${http.url}/big.jar`, policy: { ...fast, maxAttempts: 2 }, ranges });
  t.true((await readFile(report.jobJar!)).equals(content));
  const gets = http.requests.filter((r) => r.method === 'GET');
  t.is(gets.at(-1)!.headers.range, undefined, 'the last read is one stream');
  t.true(gets.filter((r) => r.headers.range !== undefined).length <= ranges.parallel, 'the first whole answer ends the ranges; none is retried');
});

test('HTTP: an object replaced while its ranges come is answered whole (If-Range) and fetched again as one stream, never spliced', async (t) => {
  const v1 = randomContent(24 * MiB);
  const v2 = randomContent(20 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), v1);
  const http = await startHttpServer({ root, bytesPerSecond: 4 * MiB });
  t.teardown(() => http.stop());
  let replaced: Promise<void> | undefined;
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: config(base, { 'user.artifacts.raw-http-enabled': 'true' }),
    jobUri: `${http.url}/big.jar`,
    policy: fast,
    ranges: { parallel: 2, rangeBytes: 4 * MiB },
    onEvent: (event) => {
      // Replaced as a deployment replaces it: a new file renamed over the old one.
      if (event.type === 'start' && replaced === undefined) replaced = writeFixture(join(root, 'next.jar'), v2).then(() => rename(join(root, 'next.jar'), join(root, 'big.jar')));
    },
  });
  await replaced;
  t.true((await readFile(report.jobJar!)).equals(v2), 'the new version, whole');
  const gets = http.requests.filter((r) => r.method === 'GET');
  t.true(gets.some((r) => r.headers.range !== undefined && r.headers['if-range'] !== undefined && r.answered === 200), 'a range was answered with the whole new object');
  t.is(gets.at(-1)!.headers.range, undefined);
});

test('SIGKILL before any range is complete: the next fetcher continues each range from what its record says was written', async (t) => {
  const content = randomContent(24 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  // 2 MiB/s per connection: an 8 MiB range takes 4 s.
  const http = await startHttpServer({ root, bytesPerSecond: 2 * MiB });
  t.teardown(() => http.stop());
  const base = await tempDir();
  const args = ['fetch', `${http.url}/big.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'rng', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'flink-artifacts.fetch.range-size': '8 mb', 'flink-artifacts.fetch.parallel-ranges': '2' })];
  const stateDir = join(base, 'default', 'rng', '.flink-artifacts');
  const first = startCli(args);
  let recorded = 0;
  let done = 0;
  const deadline = Date.now() + 30_000;
  while (recorded < 2 * MiB && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ranges = await recordedRanges(stateDir);
    recorded = Object.values(ranges?.written ?? {}).reduce((sum, bytes) => sum + bytes, 0);
    done = ranges?.done.length ?? 0;
  }
  first.child.kill('SIGKILL');
  await first.result;
  t.is(done, 0, 'killed before any range was complete');
  t.true(recorded >= 2 * MiB, `the record says ${recorded} bytes are in`);
  const servedBefore = http.requests.reduce((sum, r) => sum + r.bytes, 0);
  await new Promise((resolve) => setTimeout(resolve, 3500));
  const second = await startCli(args).result;
  t.is(second.code, 0, second.stderr);
  t.is(sha256Hex(await readFile(join(base, 'default', 'rng', 'big.jar'))), sha256Hex(content));
  const servedAfter = http.requests.reduce((sum, r) => sum + r.bytes, 0) - servedBefore;
  t.true(servedAfter <= content.length - recorded, `the second fetcher got ${servedAfter} bytes; ${recorded} were recorded as in the file`);
});

test('a range that stalls: the idle timeout ends the fill without spending that range\'s retries, and the next attempt asks only for what is missing', async (t) => {
  const content = randomContent(16 * MiB);
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), content);
  const http = await startHttpServer({ root });
  t.teardown(() => http.stop());
  const proxy = await startFaultProxy(http.url);
  t.teardown(() => proxy.stop());
  // The range at 4 MiB stalls after 1 MiB; the others finish.
  proxy.inject({ range: /^bytes=4194304-/, fault: { kind: 'stall', afterBytes: MiB } });
  const retries: string[] = [];
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: config(base, { 'user.artifacts.raw-http-enabled': 'true' }),
    jobUri: `${proxy.url}/big.jar`,
    policy: { ...fast, idleTimeoutMs: 1500 },
    ranges,
    onEvent: (event) => {
      if (event.type === 'retry') retries.push(event.reason);
    },
  });
  t.true((await readFile(report.jobJar!)).equals(content));
  t.is(retries.length, 1, `one retry of the object after the stall, none spent on an aborted range: ${JSON.stringify(retries)}`);
  const resumed = proxy.requests.filter((r) => r.range !== undefined && r.range.startsWith('bytes=5242880-'));
  t.is(resumed.length, 1, 'the stalled range continues from its last byte written');
});
