/**
 * fetchArtifacts against real servers: Ceph RGW for S3, the GCS test server, Node's HTTP(S)
 * servers, local files. Every test gets its own base dir and bucket.
 */
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { ArtifactNotFoundError, NameClashError, RawHttpDisabledError, UnsafePathError } from '@flink-artifacts/core';
import { listFiles, randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';
import { FetchFailedError, fetchArtifacts, type FetchEvent } from '../src/index.ts';

function flink(options: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(options));
}

async function s3Bucket(objects: Record<string, Buffer>): Promise<{ bucket: string; options: Record<string, string> }> {
  const s3 = await useS3();
  const bucket = uniqueBucket('fetch');
  await s3.createBucket(bucket);
  await Promise.all(Object.entries(objects).map(([key, body]) => s3.put(bucket, key, body)));
  return { bucket, options: s3.flinkOptions };
}

test('fetches a job jar and artifacts from S3 (and its s3a alias) into base-dir/namespace/cluster-id', async (t) => {
  const job = randomContent(2 * 1024 * 1024 + 17);
  const udf = randomContent(4096);
  const { bucket, options } = await s3Bucket({ 'jobs/job.jar': job, 'libs/udf.jar': udf });
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: flink({
      ...options,
      'kubernetes.cluster-id': 'my-app',
      'kubernetes.namespace': 'team-a',
      'user.artifacts.base-dir': base,
      'user.artifacts.artifact-list': `s3a://${bucket}/libs/udf.jar`,
    }),
    jobUri: `s3://${bucket}/jobs/job.jar`,
  });
  const dir = join(base, 'team-a', 'my-app');
  t.is(report.jobJar, join(dir, 'job.jar'));
  t.deepEqual(report.artifacts, [join(dir, 'udf.jar')]);
  t.is(report.fetched, 2);
  t.is(report.bytes, job.length + udf.length);
  t.is(sha256Hex(await readFile(join(dir, 'job.jar'))), sha256Hex(job));
  t.deepEqual(await readFile(join(dir, 'udf.jar')), udf);
  t.deepEqual((await listFiles(dir)).filter((f) => !f.startsWith('.flink-artifacts/')), ['job.jar', 'udf.jar']);
  t.false((await listFiles(dir)).some((f) => f.endsWith('.part')), 'no temporary file left');
});

test('a second run reuses every file with one conditional request each; a changed object is fetched again', async (t) => {
  const { bucket, options } = await s3Bucket({ 'a.jar': Buffer.from('version one'), 'b.jar': Buffer.from('bbb') });
  const base = await tempDir();
  const config = flink({
    ...options,
    'kubernetes.cluster-id': 'app',
    'user.artifacts.base-dir': base,
    'user.artifacts.artifact-list': `s3://${bucket}/a.jar;s3://${bucket}/b.jar`,
  });
  t.is((await fetchArtifacts({ config })).fetched, 2);
  const again = await fetchArtifacts({ config });
  t.is(again.fetched, 0);
  t.is(again.reused, 2);
  t.is(again.bytes, 0);

  const s3 = await useS3();
  await s3.put(bucket, 'a.jar', 'version two!');
  const third = await fetchArtifacts({ config });
  t.deepEqual(third.items.map((i) => i.status), ['fetched', 'reused']);
  t.is(await readFile(join(base, 'default', 'app', 'a.jar'), 'utf8'), 'version two!');
});

test('a file edited in place after the fetch is fetched again, not trusted', async (t) => {
  const { bucket, options } = await s3Bucket({ 'a.jar': Buffer.from('original') });
  const base = await tempDir();
  const config = flink({ ...options, 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base });
  await fetchArtifacts({ config, jobUri: `s3://${bucket}/a.jar` });
  const path = join(base, 'default', 'app', 'a.jar');
  await writeFile(path, 'tampered');
  const report = await fetchArtifacts({ config, jobUri: `s3://${bucket}/a.jar` });
  t.is(report.items[0]?.status, 'fetched');
  t.is(await readFile(path, 'utf8'), 'original');
});

test('a file already in place without a record is kept only if its checksum matches the store', async (t) => {
  const content = randomContent(10_000);
  const { bucket, options } = await s3Bucket({ 'same.jar': content, 'other.jar': content });
  const base = await tempDir();
  const dir = join(base, 'default', 'app');
  await writeFixture(join(dir, 'same.jar'), content);
  await writeFixture(join(dir, 'other.jar'), randomContent(10_000));
  const report = await fetchArtifacts({
    config: flink({
      ...options,
      'kubernetes.cluster-id': 'app',
      'user.artifacts.base-dir': base,
      'user.artifacts.artifact-list': `s3://${bucket}/same.jar;s3://${bucket}/other.jar`,
    }),
  });
  t.deepEqual(report.items.map((i) => i.status), ['reused', 'fetched']);
  t.deepEqual(await readFile(join(dir, 'other.jar')), content);
});

test('a #sha256 pin is verified; a mismatch leaves nothing under the final name', async (t) => {
  const content = Buffer.from('pinned content');
  const { bucket, options } = await s3Bucket({ 'p.jar': content, 'q.jar': content });
  const base = await tempDir();
  const config = (list: string) => flink({ ...options, 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.artifact-list': list });
  const good = await fetchArtifacts({ config: config(`s3://${bucket}/p.jar#sha256=${sha256Hex(content)}`) });
  t.is(good.fetched, 1);
  // Reused without any request: the record proves the pinned digest.
  t.is((await fetchArtifacts({ config: config(`s3://${bucket}/p.jar#sha256=${sha256Hex(content)}`) })).reused, 1);

  const error = await t.throwsAsync(fetchArtifacts({ config: config(`s3://${bucket}/q.jar#sha256=${'0'.repeat(64)}`) }), { instanceOf: FetchFailedError });
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  await t.throwsAsync(stat(join(base, 'default', 'app', 'q.jar')), { code: 'ENOENT' });
  t.false((await listFiles(join(base, 'default', 'app'))).some((f) => f.endsWith('.part')));
});

test('a body that does not match the store\'s stated MD5 is rejected and not saved', async (t) => {
  const root = await tempDir();
  const content = randomContent(5000);
  await writeFixture(join(root, 'job.jar'), content);
  const corrupted = Buffer.from(content);
  corrupted[1234] = corrupted[1234]! ^ 0xff;
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls, contentMd5: true, tamper: { '/job.jar': corrupted } });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const error = await t.throwsAsync(
    fetchArtifacts({
      config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base }),
      jobUri: `${server.url}/job.jar`,
      storage: { http: { ca: tls.cert } },
    }),
    { instanceOf: FetchFailedError },
  );
  t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
  t.regex(error.message, /md5/);
  t.deepEqual(await listFiles(join(base, 'default', 'app')), []);
});

test('GCS objects are fetched with the real client and verified against md5', async (t) => {
  const server = await startGcsServer();
  t.teardown(() => server.stop());
  server.createBucket('flink-jobs');
  const content = randomContent(300_000);
  await server.putObject('flink-jobs', 'releases/job.jar', content);
  const base = await tempDir();
  const config = flink({ 'kubernetes.cluster-id': 'gcs-app', 'user.artifacts.base-dir': base });
  const storage = { gcs: { apiEndpoint: server.url, projectId: 'test' } };
  const report = await fetchArtifacts({ config, jobUri: 'gs://flink-jobs/releases/job.jar', storage });
  t.deepEqual(await readFile(report.jobJar!), content);
  const before = server.requests.length;
  const again = await fetchArtifacts({ config, jobUri: 'gs://flink-jobs/releases/job.jar', storage });
  t.is(again.reused, 1);
  const reuseRequests = server.requests.slice(before);
  t.is(reuseRequests.length, 1);
  t.not(reuseRequests[0]?.query.alt, 'media', 'the reuse check downloaded nothing');
});

test('HTTPS with required headers, HTTP only when raw http is enabled', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'secured');
  const tls = await createTestCertificate();
  const secure = await startHttpServer({ root, tls, requiredHeaders: { authorization: 'Bearer s3cr3t-t0ken' } });
  const plain = await startHttpServer({ root });
  t.teardown(async () => {
    await secure.stop();
    await plain.stop();
  });
  const base = await tempDir();
  const config = (extra: Record<string, string>) => flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, ...extra });
  const storage = { http: { ca: tls.cert } };

  const ok = await fetchArtifacts({ config: config({ 'user.artifacts.http-headers': 'Authorization:Bearer s3cr3t-t0ken' }), jobUri: `${secure.url}/job.jar`, storage });
  t.is(await readFile(ok.jobJar!, 'utf8'), 'secured');

  const denied = await t.throwsAsync(fetchArtifacts({ config: config({}), jobUri: `${secure.url}/job.jar`, storage }), { instanceOf: FetchFailedError });
  t.is(denied.report.items[0]?.error?.code, 'ERR_ACCESS_DENIED');

  await t.throwsAsync(fetchArtifacts({ config: config({}), jobUri: `${plain.url}/job.jar` }), {
    instanceOf: RawHttpDisabledError,
    message: /plain http/,
  });
  t.is(plain.requests.length, 0);
  const raw = await fetchArtifacts({ config: config({ 'user.artifacts.raw-http-enabled': 'true' }), jobUri: `${plain.url}/job.jar` });
  t.is(raw.fetched + raw.reused, 1);
});

test('HTTP reuse uses a conditional GET answered 304', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'jar bytes');
  const server = await startHttpServer({ root });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const config = flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true' });
  await fetchArtifacts({ config, jobUri: `${server.url}/job.jar` });
  const again = await fetchArtifacts({ config, jobUri: `${server.url}/job.jar` });
  t.is(again.reused, 1);
  const last = server.requests.at(-1)!;
  t.truthy(last.headers['if-none-match']);
  t.is(last.status, 304);
});

test('file:// is copied, local:// is checked in place and never copied', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'copy.jar'), 'copied');
  await writeFixture(join(src, 'image.jar'), 'in image');
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: flink({
      'kubernetes.cluster-id': 'app',
      'user.artifacts.base-dir': base,
      'user.artifacts.artifact-list': `file://${src}/copy.jar;local://${src}/image.jar`,
    }),
  });
  t.deepEqual(report.artifacts, [join(base, 'default', 'app', 'copy.jar'), join(src, 'image.jar')]);
  t.deepEqual(report.items.map((i) => i.status), ['fetched', 'local']);
  await t.throwsAsync(stat(join(base, 'default', 'app', 'image.jar')), { code: 'ENOENT' });

  const missing = await t.throwsAsync(
    fetchArtifacts({ config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base }), jobUri: `local://${src}/nope.jar` }),
    { instanceOf: FetchFailedError },
  );
  t.is(missing.report.items[0]?.error?.code, 'ERR_ARTIFACT_NOT_FOUND');
});

test('name clashes and traversal fail before any request', async (t) => {
  const root = await tempDir();
  const server = await startHttpServer({ root });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const config = (list: string) =>
    flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'user.artifacts.artifact-list': list });
  await t.throwsAsync(fetchArtifacts({ config: config(`${server.url}/a/x.jar;${server.url}/b/x.jar`) }), { instanceOf: NameClashError, message: /x\.jar/ });
  await t.throwsAsync(fetchArtifacts({ config: config(`${server.url}/ok.jar;${server.url}/a/..%2F..%2Fevil.jar`) }), { instanceOf: UnsafePathError });
  t.is(server.requests.length, 0);
  t.deepEqual(await listFiles(base), []);
});

test('the same URI given as job and artifact is fetched once', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const base = await tempDir();
  const report = await fetchArtifacts({
    config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.artifact-list': `file://${src}/job.jar`, 'pipeline.jars': `file://${src}/job.jar` }),
  });
  t.is(report.items.length, 1);
  t.is(report.jobJar, join(base, 'default', 'app', 'job.jar'));
});

test('one missing artifact fails the fetch but the others still land', async (t) => {
  const { bucket, options } = await s3Bucket({ 'present.jar': Buffer.from('here') });
  const base = await tempDir();
  const error = await t.throwsAsync(
    fetchArtifacts({
      config: flink({
        ...options,
        'kubernetes.cluster-id': 'app',
        'user.artifacts.base-dir': base,
        'user.artifacts.artifact-list': `s3://${bucket}/missing.jar;s3://${bucket}/present.jar`,
      }),
    }),
    { instanceOf: FetchFailedError },
  );
  t.deepEqual(error.report.items.map((i) => i.status), ['failed', 'fetched']);
  t.regex(error.report.items[0]!.error!.message, new RegExp(`s3://${bucket}/missing.jar`));
  t.is(error.report.items[0]!.error!.code, new ArtifactNotFoundError('').code);
  t.is(await readFile(join(base, 'default', 'app', 'present.jar'), 'utf8'), 'here');
});

test('never more transfers at once than the concurrency', async (t) => {
  const root = await tempDir();
  const names = Array.from({ length: 12 }, (_, i) => `lib-${i}.jar`);
  await Promise.all(names.map((name) => writeFixture(join(root, name), randomContent(20_000))));
  const server = await startHttpServer({ root, bytesPerSecond: 100_000 });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const list = names.map((name) => `${server.url}/${name}`).join(';');
  const config = flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'user.artifacts.artifact-list': list });
  let active = 0;
  let maxActive = 0;
  const onEvent = (event: FetchEvent): void => {
    if (event.type === 'start') maxActive = Math.max(maxActive, ++active);
    if (event.type === 'done') active--;
  };
  await fetchArtifacts({ config, concurrency: 3, onEvent });
  t.is(server.maxInFlight, 3);
  t.true(maxActive <= 3);
});

test('an aborted fetch removes its temporary files and leaves no final file', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), randomContent(2_000_000));
  const server = await startHttpServer({ root, bytesPerSecond: 400_000 });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const controller = new AbortController();
  const promise = fetchArtifacts({
    config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true' }),
    jobUri: `${server.url}/big.jar`,
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === 'progress') controller.abort('SIGTERM');
    },
  });
  await t.throwsAsync(promise, { code: 'ERR_ABORTED' });
  const left = await listFiles(join(base, 'default', 'app'));
  t.deepEqual(left, []);
});

test('leftovers of gone fetchers are swept, a live fetcher\'s part is never touched; a fresh run completes', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'complete');
  const base = await tempDir();
  const state = join(base, 'default', 'app', '.flink-artifacts');
  // A fetcher that is gone (no heartbeat), one of the older PID-named scheme, and a live one.
  await writeFixture(join(state, 'job.jar.0123456789ab.part'), 'half');
  await writeFixture(join(state, 'job.jar.999999.abcdefabcdef.part'), 'old');
  const old = new Date(Date.now() - 3600_000);
  await utimes(join(state, 'job.jar.999999.abcdefabcdef.part'), old, old);
  await writeFixture(join(state, 'lib.jar.aaaaaaaaaaaa.part'), 'someone else is writing this');
  await writeFixture(join(state, 'owners', 'aaaaaaaaaaaa'), '1\n');
  const heartbeat = setInterval(() => void utimes(join(state, 'owners', 'aaaaaaaaaaaa'), new Date(), new Date()), 500);
  t.teardown(() => clearInterval(heartbeat));
  await fetchArtifacts({ config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': base }), jobUri: `file://${src}/job.jar` });
  t.deepEqual((await listFiles(state)).filter((f) => f.endsWith('.part')), ['lib.jar.aaaaaaaaaaaa.part']);
  t.is(await readFile(join(base, 'default', 'app', 'job.jar'), 'utf8'), 'complete');
});

test('a base dir that cannot be created is an error naming the path', async (t) => {
  // A path below a regular file cannot become a directory, whoever runs the test (root included).
  const file = join(await tempDir(), 'not-a-dir');
  await writeFile(file, '');
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const error = await t.throwsAsync(
    fetchArtifacts({ config: flink({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': file }), jobUri: `file://${src}/job.jar` }),
  );
  t.true(error.message.includes(file), error.message);
});
