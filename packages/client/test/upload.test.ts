/**
 * uploadArtifacts against the real targets: S3 on Ceph RGW, the GCS test server, file://.
 * One suite per target for the shared behaviour, then target-specific checks.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { ConfigError, NameClashError } from '@flink-artifacts/core';
import { fetchArtifacts } from '@flink-artifacts/fetcher';
import { randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer, type RunningGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { UploadFailedError, uploadArtifacts, type UploadOptions } from '../src/index.ts';

function flink(options: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(options));
}

interface Target {
  /** Flink options pointing at the target (and its credentials). */
  options: Record<string, string>;
  /** The rewritten URI prefix, e.g. s3://bucket/jobs/. */
  prefix: string;
  storage?: UploadOptions['storage'];
  /** The stored bytes of an object by file name. */
  read(name: string): Promise<Buffer | undefined>;
  /** A token that changes on every write to the name (object versions, generation, inode+mtime). */
  writeMarker(name: string): Promise<string>;
  stop(): Promise<void>;
}

const targets: Record<string, (options?: { versioned?: boolean }) => Promise<Target>> = {
  async s3({ versioned = true } = {}) {
    const s3 = await useS3();
    const bucket = uniqueBucket('up');
    await s3.createBucket(bucket);
    // With versioning every write makes a new version: proof that a skip wrote nothing. (RGW 16
    // ignores If-None-Match in versioned buckets, so the race test asks for a plain one.)
    if (versioned) await s3.client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    return {
      options: { ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/jobs/` },
      prefix: `s3://${bucket}/jobs/`,
      async read(name) {
        try {
          const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: `jobs/${name}` }));
          return Buffer.from(await out.Body!.transformToByteArray());
        } catch {
          return undefined;
        }
      },
      async writeMarker(name) {
        const versions = await s3.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `jobs/${name}` }));
        return (versions.Versions ?? []).map((v) => v.VersionId).join(',');
      },
      stop: async () => undefined,
    };
  },
  async gcs() {
    const server: RunningGcsServer = await startGcsServer();
    server.createBucket('flink');
    return {
      options: { 'kubernetes.artifacts.local-upload-target': 'gs://flink/jobs/' },
      prefix: 'gs://flink/jobs/',
      storage: { gcs: { apiEndpoint: server.url, projectId: 'test' } },
      async read(name) {
        const record = server.object('flink', `jobs/${name}`);
        return record === undefined ? undefined : readFile(record.file);
      },
      async writeMarker(name) {
        return server.object('flink', `jobs/${name}`)?.generation ?? 'none';
      },
      stop: () => server.stop(),
    };
  },
  async file() {
    const dir = join(await tempDir(), 'target');
    return {
      options: { 'kubernetes.artifacts.local-upload-target': `file://${dir}/` },
      prefix: `file://${dir}/`,
      async read(name) {
        return readFile(join(dir, name)).catch(() => undefined);
      },
      async writeMarker(name) {
        const info = await stat(join(dir, name)).catch(() => undefined);
        return info === undefined ? 'none' : `${info.ino}:${info.mtimeMs}`;
      },
      stop: async () => undefined,
    };
  },
};

async function localJars(files: Record<string, Buffer | string>): Promise<string> {
  const dir = await tempDir();
  await Promise.all(Object.entries(files).map(([name, content]) => writeFixture(join(dir, name), content)));
  return dir;
}

for (const [name, makeTarget] of Object.entries(targets)) {
  test(`${name}: uploads local artifacts, rewrites URIs, passes remote ones through; a second run skips without writing`, async (t) => {
    const target = await makeTarget();
    t.teardown(() => target.stop());
    const job = randomContent(300_000);
    const src = await localJars({ 'job.jar': job, 'udf.jar': 'udf bytes' });
    const config = flink({
      ...target.options,
      'user.artifacts.artifact-list': `${src}/udf.jar;https://repo.example.com/lib.jar`,
    });
    const options = { config, jobUri: `local://${src}/job.jar`, ...(target.storage ? { storage: target.storage } : {}) };
    const first = await uploadArtifacts(options);
    t.is(first.jobUri, `${target.prefix}job.jar`);
    t.deepEqual(first.artifactList, [`${target.prefix}udf.jar`, 'https://repo.example.com/lib.jar']);
    t.is(first.uploaded, 2);
    t.is(first.skipped, 0);
    t.is(first.passed, 1);
    t.deepEqual(first.items.map((i) => i.uri), [`${target.prefix}job.jar`, `${target.prefix}udf.jar`, 'https://repo.example.com/lib.jar']);
    t.is(first.bytes, job.length + 9);
    t.deepEqual(first.items.map((i) => i.status), ['uploaded', 'uploaded', 'passed']);
    t.is(sha256Hex((await target.read('job.jar'))!), sha256Hex(job));

    const markers = [await target.writeMarker('job.jar'), await target.writeMarker('udf.jar')];
    const second = await uploadArtifacts(options);
    t.deepEqual(second.items.map((i) => i.status), ['skipped', 'skipped', 'passed']);
    t.is(second.skipped, 2);
    t.is(second.uploaded, 0);
    t.is(second.bytes, 0);
    t.deepEqual([await target.writeMarker('job.jar'), await target.writeMarker('udf.jar')], markers, 'no write reached the store');
  });

  test(`${name}: different content under the same name is refused, naming the overwrite key; overwrite replaces it`, async (t) => {
    const target = await makeTarget();
    t.teardown(() => target.stop());
    const v1 = await localJars({ 'job.jar': 'version 1' });
    const v2 = await localJars({ 'job.jar': 'version 2, longer' });
    const storage = target.storage ? { storage: target.storage } : {};
    await uploadArtifacts({ config: flink(target.options), jobUri: `local://${v1}/job.jar`, ...storage });
    const error = await t.throwsAsync(uploadArtifacts({ config: flink(target.options), jobUri: `local://${v2}/job.jar`, ...storage }), { instanceOf: UploadFailedError });
    t.is(error.report.items[0]?.error?.code, 'ERR_TARGET_EXISTS');
    t.regex(error.message, /exists with different content/);
    t.regex(error.report.items[0]?.error?.message ?? '', /kubernetes\.artifacts\.local-upload-overwrite=true/);
    t.is((await target.read('job.jar'))?.toString(), 'version 1', 'no silent overwrite');

    const replaced = await uploadArtifacts({
      config: flink({ ...target.options, 'kubernetes.artifacts.local-upload-overwrite': 'true' }),
      jobUri: `local://${v2}/job.jar`,
      ...storage,
    });
    t.is(replaced.uploaded, 1);
    t.is(replaced.items[0]?.uri, `${target.prefix}job.jar`);
    t.regex(replaced.items[0]?.reason ?? '', /replacing different content/);
    t.is((await target.read('job.jar'))?.toString(), 'version 2, longer');
  });

  test(`${name}: two clients racing on one name with different content: exactly one writes`, async (t) => {
    const target = await makeTarget({ versioned: false });
    t.teardown(() => target.stop());
    const a = await localJars({ 'job.jar': randomContent(2_000_000) });
    const b = await localJars({ 'job.jar': randomContent(2_000_000) });
    const storage = target.storage ? { storage: target.storage } : {};
    const results = await Promise.allSettled([
      uploadArtifacts({ config: flink(target.options), jobUri: `local://${a}/job.jar`, ...storage }),
      uploadArtifacts({ config: flink(target.options), jobUri: `local://${b}/job.jar`, ...storage }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.is(won.length, 1);
    t.is(lost.length, 1);
    t.is((lost[0]!.reason as UploadFailedError).report.items[0]?.error?.code, 'ERR_TARGET_EXISTS');
    const winner = results[0]!.status === 'fulfilled' ? a : b;
    t.is(sha256Hex((await target.read('job.jar'))!), sha256Hex(await readFile(join(winner, 'job.jar'))));
  });

  test(`${name}: --dry-run reports what would happen and writes nothing`, async (t) => {
    const target = await makeTarget();
    t.teardown(() => target.stop());
    const existing = await localJars({ 'same.jar': 'same', 'clash.jar': 'old' });
    const storage = target.storage ? { storage: target.storage } : {};
    const list = (dir: string) => flink({ ...target.options, 'user.artifacts.artifact-list': `${dir}/same.jar;${dir}/clash.jar` });
    await uploadArtifacts({ config: list(existing), ...storage });
    const markers = [await target.writeMarker('same.jar'), await target.writeMarker('clash.jar'), await target.writeMarker('new.jar')];

    const next = await localJars({ 'same.jar': 'same', 'clash.jar': 'new content', 'new.jar': 'brand new' });
    const error = await t.throwsAsync(
      uploadArtifacts({ config: flink({ ...target.options, 'user.artifacts.artifact-list': `${next}/same.jar;${next}/clash.jar;${next}/new.jar` }), dryRun: true, ...storage }),
      { instanceOf: UploadFailedError },
    );
    t.deepEqual(error.report.items.map((i) => i.status), ['would-skip', 'failed', 'would-upload']);
    t.true(error.report.dryRun);
    t.deepEqual([await target.writeMarker('same.jar'), await target.writeMarker('clash.jar'), await target.writeMarker('new.jar')], markers);
    t.is(await target.read('new.jar'), undefined);
  });

  test(`${name}: upload then fetch into base-dir/namespace/cluster-id gives identical bytes`, async (t) => {
    const target = await makeTarget();
    t.teardown(() => target.stop());
    const job = randomContent(1_500_000);
    const src = await localJars({ 'my job.jar': job, 'udf.py': 'print(1)' });
    const storage = target.storage ? { storage: target.storage } : {};
    const uploaded = await uploadArtifacts({ config: flink({ ...target.options, 'user.artifacts.artifact-list': `local://${src}/udf.py` }), jobUri: `${src}/my job.jar`, ...storage });
    const base = await tempDir();
    const report = await fetchArtifacts({
      config: flink({
        ...target.options,
        'kubernetes.cluster-id': 'round-trip',
        'kubernetes.namespace': 'ns',
        'user.artifacts.base-dir': base,
        'pipeline.jars': uploaded.jobUri!,
        'user.artifacts.artifact-list': uploaded.artifactList.join(';'),
      }),
      ...storage,
    });
    t.is(report.jobJar, join(base, 'ns', 'round-trip', 'my job.jar'));
    t.is(sha256Hex(await readFile(report.jobJar!)), sha256Hex(job));
    t.is(await readFile(join(base, 'ns', 'round-trip', 'udf.py'), 'utf8'), 'print(1)');
  });
}

test('errors: missing file, directory, unreadable file and a missing target each name their input', async (t) => {
  const dir = await tempDir();
  await mkdir(join(dir, 'a-directory.jar'));
  const target = { 'kubernetes.artifacts.local-upload-target': `file://${await tempDir()}/` };
  const error = await t.throwsAsync(
    uploadArtifacts({ config: flink({ ...target, 'user.artifacts.artifact-list': `local://${dir}/missing.jar;local://${dir}/a-directory.jar` }) }),
    { instanceOf: UploadFailedError },
  );
  t.deepEqual(error.report.items.map((i) => i.error?.code), ['ERR_ARTIFACT_NOT_FOUND', 'ERR_NOT_A_FILE']);
  t.regex(error.report.items[0]!.error!.message, /missing\.jar: no such local file/);
  t.regex(error.report.items[1]!.error!.message, /a-directory\.jar is a directory/);

  await t.throwsAsync(uploadArtifacts({ config: flink({}), jobUri: `local://${dir}/x.jar` }), {
    instanceOf: ConfigError,
    message: /kubernetes\.artifacts\.local-upload-target is not set/,
  });
  for (const bad of ['https://h/dir/', 'local:///tmp/', 'relative/dir', 's3://', 'file://host/dir']) {
    await t.throwsAsync(
      uploadArtifacts({ config: flink({ 'kubernetes.artifacts.local-upload-target': bad }), jobUri: `local://${dir}/x.jar` }),
      { instanceOf: ConfigError, message: /kubernetes\.artifacts\.local-upload-target/ },
      bad,
    );
  }
});

test('an unreadable local file is refused (when permissions apply to this user)', async (t) => {
  const dir = await tempDir();
  const path = await writeFixture(join(dir, 'secret.jar'), 'x');
  await chmod(path, 0o000);
  const target = { 'kubernetes.artifacts.local-upload-target': `file://${await tempDir()}/` };
  const result = await uploadArtifacts({ config: flink(target), jobUri: path }).then(
    () => 'uploaded',
    (error: UploadFailedError) => error.report.items[0]?.error?.code,
  );
  // Root reads any file; everyone else must get a clear refusal.
  t.is(result, process.getuid?.() === 0 ? 'uploaded' : 'ERR_ACCESS_DENIED');
});

test('remote URIs pass through untouched and need no target', async (t) => {
  const report = await uploadArtifacts({ config: flink({ 'user.artifacts.artifact-list': 's3://b/a.jar;gs://c/d.jar' }), jobUri: 'https://h/job.jar?token=abc' });
  t.is(report.jobUri, 'https://h/job.jar?token=abc');
  t.deepEqual(report.artifactList, ['s3://b/a.jar', 'gs://c/d.jar']);
  t.deepEqual(report.items.map((i) => i.status), ['passed', 'passed', 'passed']);
  t.is(report.items[0]?.uri, 'https://h/job.jar?token=***', 'reports mask what the rewritten list keeps');
});

test('two local files with one name clash before anything is uploaded', async (t) => {
  const a = await localJars({ 'x.jar': 'a' });
  const b = await localJars({ 'x.jar': 'b' });
  const targetDir = join(await tempDir(), 't');
  await t.throwsAsync(
    uploadArtifacts({ config: flink({ 'kubernetes.artifacts.local-upload-target': `file://${targetDir}/`, 'user.artifacts.artifact-list': `${a}/x.jar;${b}/x.jar` }) }),
    { instanceOf: NameClashError },
  );
  await t.throwsAsync(stat(targetDir), { code: 'ENOENT' });
});

test('one file spelled two ways (a plain path and local://) is one artifact: uploaded once, both entries rewritten', async (t) => {
  const dir = await localJars({ 'job.jar': 'job' });
  const targetDir = join(await tempDir(), 't');
  const report = await uploadArtifacts({ config: flink({ 'kubernetes.artifacts.local-upload-target': `file://${targetDir}/`, 'user.artifacts.artifact-list': `${dir}/job.jar` }), jobUri: `local://${dir}/job.jar` });
  t.is(report.items.length, 1);
  t.is(report.jobUri, `file://${targetDir}/job.jar`);
  t.deepEqual(report.artifactList, [`file://${targetDir}/job.jar`]);
});

test('a #sha256 pin on a local artifact is checked before upload and kept in the rewritten URI', async (t) => {
  const src = await localJars({ 'job.jar': 'pinned' });
  const targetDir = join(await tempDir(), 't');
  const options = { 'kubernetes.artifacts.local-upload-target': `file://${targetDir}/` };
  const good = await uploadArtifacts({ config: flink(options), jobUri: `local://${src}/job.jar#sha256=${sha256Hex('pinned')}` });
  t.is(good.jobUri, `file://${targetDir}/job.jar#sha256=${sha256Hex('pinned')}`);
  const bad = await t.throwsAsync(uploadArtifacts({ config: flink(options), jobUri: `local://${src}/job.jar#sha256=${'1'.repeat(64)}` }), { instanceOf: UploadFailedError });
  t.is(bad.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH');
});

test('S3: an object whose content cannot be compared is refused rather than trusted', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('cmp');
  await s3.createBucket(bucket);
  // A multipart object written by another tool: its ETag is no MD5 and it has no sha256 metadata.
  const { CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand } = await import('@aws-sdk/client-s3');
  const content = Buffer.from('same bytes');
  const created = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'job.jar' }));
  const part = await s3.client.send(new UploadPartCommand({ Bucket: bucket, Key: 'job.jar', UploadId: created.UploadId, PartNumber: 1, Body: content }));
  await s3.client.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'job.jar', UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  );
  const src = await localJars({ 'job.jar': content });
  const error = await t.throwsAsync(
    uploadArtifacts({ config: flink({ ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/` }), jobUri: `${src}/job.jar` }),
    { instanceOf: UploadFailedError },
  );
  t.regex(error.message, /cannot be compared/);
});

test('S3: a missing bucket and bad credentials fail with clear errors and never print the secret', async (t) => {
  const s3 = await useS3();
  const src = await localJars({ 'job.jar': 'x' });
  const missing = await t.throwsAsync(
    uploadArtifacts({ config: flink({ ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': `s3://${uniqueBucket('none')}/p/` }), jobUri: `${src}/job.jar` }),
    { instanceOf: UploadFailedError },
  );
  t.regex(missing.message, /bucket does not exist/);
  const bucket = uniqueBucket('cred');
  await s3.createBucket(bucket);
  const denied = await t.throwsAsync(
    uploadArtifacts({
      config: flink({ ...s3.flinkOptions, 's3.secret-key': 'WRONG-SECRET-VALUE', 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/p/` }),
      jobUri: `${src}/job.jar`,
    }),
    { instanceOf: UploadFailedError },
  );
  t.is(denied.report.items[0]?.error?.code, 'ERR_ACCESS_DENIED');
  t.false(JSON.stringify(denied.report).includes('WRONG-SECRET-VALUE'));
});

test('a failing artifact does not hide the others', async (t) => {
  const src = await localJars({ 'good.jar': 'good' });
  const targetDir = join(await tempDir(), 't');
  const error = await t.throwsAsync(
    uploadArtifacts({
      config: flink({ 'kubernetes.artifacts.local-upload-target': `file://${targetDir}/`, 'user.artifacts.artifact-list': `${src}/missing.jar;${src}/good.jar` }),
    }),
    { instanceOf: UploadFailedError },
  );
  t.deepEqual(error.report.items.map((i) => i.status), ['failed', 'uploaded']);
  t.is(await readFile(join(targetDir, 'good.jar'), 'utf8'), 'good');
});

test('file:// uploads never leave a temporary file behind', async (t) => {
  const src = await localJars({ 'a.jar': 'a' });
  const targetDir = join(await tempDir(), 't');
  await writeFile(join(src, 'b.jar'), 'b');
  await uploadArtifacts({ config: flink({ 'kubernetes.artifacts.local-upload-target': `file://${targetDir}`, 'user.artifacts.artifact-list': `${src}/a.jar;${src}/b.jar` }) });
  const { readdir } = await import('node:fs/promises');
  t.deepEqual((await readdir(targetDir)).sort(), ['a.jar', 'b.jar']);
});

test('local checksums are remembered across runs, and an edited file is never taken for the old one', async (t) => {
  const { openChecksumCache } = await import('../src/checksum-cache.ts');
  const { stat: statFile, utimes } = await import('node:fs/promises');
  const dir = await tempDir();
  const path = await writeFixture(join(dir, 'job.jar'), 'version A');
  const file = join(dir, 'cache', 'checksums.json');
  const first = await openChecksumCache(file);
  first.set(path, await statFile(path), { sha256: sha256Hex('version A') });
  await first.save();
  const second = await openChecksumCache(file);
  t.deepEqual(second.get(path, await statFile(path)), { sha256: sha256Hex('version A') });

  // Same size, modification time put back: only the change time tells.
  const before = await statFile(path);
  await writeFile(path, 'version B');
  await utimes(path, before.atime, before.mtime);
  t.is(second.get(path, await statFile(path)), undefined);
});

test('a second upload of unchanged jars is skipped using remembered checksums', async (t) => {
  const src = await localJars({ 'a.jar': 'aaa', 'b.jar': 'bbb' });
  const target = join(await tempDir(), 't');
  const cacheFile = join(await tempDir(), 'checksums.json');
  const config = flink({ 'kubernetes.artifacts.local-upload-target': `file://${target}/`, 'user.artifacts.artifact-list': `${src}/a.jar;${src}/b.jar` });
  t.is((await uploadArtifacts({ config, checksumCache: cacheFile })).uploaded, 2);
  const remembered = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, unknown>;
  t.deepEqual(Object.keys(remembered).sort(), [join(src, 'a.jar'), join(src, 'b.jar')]);
  t.is((await uploadArtifacts({ config, checksumCache: cacheFile })).skipped, 2);
});
