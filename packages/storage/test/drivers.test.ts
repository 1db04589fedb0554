/**
 * One conformance suite, run against every driver and its real server: S3 on Ceph RGW, GCS on
 * the GCS test server, HTTP and HTTPS on Node's servers, local files.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  NotAFileError,
  ObjectExistsError,
  TransferError,
  parseArtifactUri,
  type StorageDriver,
  type UploadSource,
} from '@flink-artifacts/core';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';
import { randomContent, sha256Hex, tempDir, uniqueBucket } from '@flink-artifacts/test-helpers/fixtures';
import { createFileDriver } from '../src/file-driver.ts';
import { createGcsDriver } from '../src/gcs-driver.ts';
import { createHttpDriver } from '../src/http-driver.ts';
import { createS3Driver } from '../src/s3-driver.ts';
import { readS3Settings } from '@flink-artifacts/core';

interface Subject {
  driver: StorageDriver;
  /** URI of an existing object holding `content`. */
  present: string;
  missing: string;
  /** A URI the store refuses access to. */
  denied?: string;
  content: Buffer;
  stop(): Promise<void>;
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const subjects: Record<string, () => Promise<Subject>> = {
  async s3() {
    const s3 = await useS3();
    const bucket = uniqueBucket('drv');
    await s3.createBucket(bucket);
    const content = randomContent(300_000);
    await s3.put(bucket, 'dir/job.jar', content);
    const driver = createS3Driver({ settings: readS3Settings(new Map(Object.entries(s3.flinkOptions))) });
    const deniedDriver = createS3Driver({
      settings: readS3Settings(new Map(Object.entries({ ...s3.flinkOptions, 's3.secret-key': 'wrong-secret' }))),
    });
    return {
      driver,
      present: `s3://${bucket}/dir/job.jar`,
      missing: `s3://${bucket}/dir/nope.jar`,
      content,
      deniedDriver,
      async stop() {
        await driver.close?.();
        await deniedDriver.close?.();
      },
    } as Subject & { deniedDriver: StorageDriver };
  },
  async gcs() {
    const server = await startGcsServer();
    server.createBucket('bkt');
    server.createBucket('private');
    server.denyBucket('private');
    const content = randomContent(300_000);
    await server.putObject('bkt', 'dir/job.jar', content);
    const driver = createGcsDriver({ apiEndpoint: server.url, projectId: 'test' });
    return { driver, present: 'gs://bkt/dir/job.jar', missing: 'gs://bkt/dir/nope.jar', denied: 'gs://private/x.jar', content, stop: () => server.stop() };
  },
  async http() {
    const root = await tempDir();
    const content = randomContent(300_000);
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir', 'job.jar'), content);
    const server = await startHttpServer({ root, requiredHeaders: { authorization: 'Bearer t0ken' } });
    const driver = createHttpDriver({ rawHttpEnabled: true, headers: { Authorization: 'Bearer t0ken' } });
    const deniedDriver = createHttpDriver({ rawHttpEnabled: true });
    return {
      driver,
      deniedDriver,
      present: `${server.url}/dir/job.jar`,
      missing: `${server.url}/dir/nope.jar`,
      content,
      async stop() {
        await driver.close?.();
        await deniedDriver.close?.();
        await server.stop();
      },
    } as Subject & { deniedDriver: StorageDriver };
  },
  async https() {
    const root = await tempDir();
    const content = randomContent(300_000);
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir', 'job.jar'), content);
    const tls = await createTestCertificate();
    const server = await startHttpServer({ root, tls, contentMd5: true });
    const driver = createHttpDriver({ ca: tls.cert });
    return { driver, present: `${server.url}/dir/job.jar`, missing: `${server.url}/dir/nope.jar`, content, async stop() { await driver.close?.(); await server.stop(); } };
  },
  async file() {
    const root = await tempDir();
    const content = randomContent(300_000);
    await writeFile(join(root, 'job.jar'), content);
    return { driver: createFileDriver(), present: `file://${root}/job.jar`, missing: `file://${root}/nope.jar`, content, stop: async () => undefined };
  },
};

for (const [name, makeSubject] of Object.entries(subjects)) {
  test(`${name}: stat reports the size, and undefined for a missing object`, async (t) => {
    const s = await makeSubject();
    t.teardown(() => s.stop());
    const info = await s.driver.stat(parseArtifactUri(s.present));
    t.is(info?.size, s.content.length);
    t.is(await s.driver.stat(parseArtifactUri(s.missing)), undefined);
  });

  test(`${name}: read streams the exact bytes with a version and any stated checksums`, async (t) => {
    const s = await makeSubject();
    t.teardown(() => s.stop());
    const result = await s.driver.read(parseArtifactUri(s.present));
    if (result.notModified) return t.fail('unexpected notModified');
    t.deepEqual(await readAll(result.body), s.content);
    t.is(result.object.size, s.content.length);
    t.truthy(result.object.version);
    if (name === 's3' || name === 'gcs' || name === 'https') {
      t.truthy(result.object.checksums.md5, 'store states an MD5');
    }
  });

  test(`${name}: a read with the current version answers notModified without a body`, async (t) => {
    const s = await makeSubject();
    t.teardown(() => s.stop());
    const first = await s.driver.stat(parseArtifactUri(s.present));
    const again = await s.driver.read(parseArtifactUri(s.present), { unlessVersion: first?.version });
    t.true(again.notModified);
    const stale = await s.driver.read(parseArtifactUri(s.present), { unlessVersion: '"some-other-version"' });
    t.false(stale.notModified);
    if (!stale.notModified) stale.body.destroy();
  });

  test(`${name}: reading a missing object is ArtifactNotFoundError naming the URI`, async (t) => {
    const s = await makeSubject();
    t.teardown(() => s.stop());
    const ref = parseArtifactUri(s.missing);
    const error = await t.throwsAsync(s.driver.read(ref), { instanceOf: ArtifactNotFoundError });
    t.true(error.message.includes(ref.display), error.message);
  });
}

test('s3: wrong credentials are AccessDeniedError and the secret never appears', async (t) => {
  const s = (await subjects.s3!()) as Subject & { deniedDriver: StorageDriver };
  t.teardown(() => s.stop());
  const error = await t.throwsAsync(s.deniedDriver.read(parseArtifactUri(s.present)), { instanceOf: AccessDeniedError });
  t.false(error.message.includes('wrong-secret'));
  t.regex(error.message, /s3:\/\//);
});

test('http: a missing required header is AccessDeniedError (401)', async (t) => {
  const s = (await subjects.http!()) as Subject & { deniedDriver: StorageDriver };
  t.teardown(() => s.stop());
  const error = await t.throwsAsync(s.deniedDriver.read(parseArtifactUri(s.present)), { instanceOf: AccessDeniedError });
  t.regex(error.message, /401/);
});

test('gcs: a bucket the caller may not read is AccessDeniedError', async (t) => {
  const s = await subjects.gcs!();
  t.teardown(() => s.stop());
  await t.throwsAsync(s.driver.read(parseArtifactUri(s.denied!)), { instanceOf: AccessDeniedError });
});

test('file: a directory is NotAFileError', async (t) => {
  const root = await tempDir();
  await t.throwsAsync(createFileDriver().read(parseArtifactUri(`file://${root}`)), { instanceOf: NotAFileError });
});

test('https: an untrusted certificate fails with a hint, never silently', async (t) => {
  const root = await tempDir();
  await writeFile(join(root, 'x.jar'), 'x');
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls });
  t.teardown(() => server.stop());
  const driver = createHttpDriver();
  const error = await t.throwsAsync(driver.read(parseArtifactUri(`${server.url}/x.jar`)), { instanceOf: TransferError });
  t.regex(error.hint ?? '', /NODE_EXTRA_CA_CERTS/);
});

test('http: plain http is refused unless raw http is enabled, also as a redirect target', async (t) => {
  const root = await tempDir();
  await writeFile(join(root, 'x.jar'), 'x');
  const plain = await startHttpServer({ root });
  const tls = await createTestCertificate();
  const secure = await startHttpServer({ root, tls, redirects: { '/moved.jar': `${plain.url}/x.jar` } });
  t.teardown(async () => {
    await plain.stop();
    await secure.stop();
  });
  const driver = createHttpDriver({ ca: tls.cert });
  await t.throwsAsync(driver.read(parseArtifactUri(`${plain.url}/x.jar`)), { code: 'ERR_RAW_HTTP_DISABLED' });
  const downgrade = await t.throwsAsync(driver.read(parseArtifactUri(`${secure.url}/moved.jar`)));
  t.regex(downgrade.message, /https to http/);
  t.is(plain.requests.length, 0, 'no request reached the plain server');
});

// ---- writes: conditional create, metadata, multipart/resumable, abort ----

function bufferSource(content: Buffer): UploadSource {
  return {
    size: content.length,
    open: (range) => Readable.from([range ? content.subarray(range.start, range.end + 1) : content]),
  };
}

interface WriteSubject {
  driver: StorageDriver;
  /** A URI in a writable place where nothing exists yet. */
  fresh(name: string): string;
  /** The SHA-256 the store keeps for the object, read through the store's own API. */
  storedSha256(uri: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

const writeSubjects: Record<string, (small: boolean) => Promise<WriteSubject>> = {
  async s3(small) {
    const s3 = await useS3();
    const bucket = uniqueBucket('wr');
    await s3.createBucket(bucket);
    const driver = createS3Driver({
      settings: readS3Settings(new Map(Object.entries(s3.flinkOptions))),
      ...(small ? { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 } : {}),
    });
    return {
      driver,
      fresh: (name) => `s3://${bucket}/up/${name}`,
      async storedSha256(uri) {
        const { key } = parseArtifactUri(uri).location as { key: string };
        const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return head.Metadata?.sha256;
      },
      stop: async () => driver.close?.(),
    };
  },
  async gcs(small) {
    const server = await startGcsServer();
    server.createBucket('bkt');
    const driver = createGcsDriver({ apiEndpoint: server.url, projectId: 'test', ...(small ? { resumableThreshold: 1024 } : {}) });
    return {
      driver,
      fresh: (name) => `gs://bkt/up/${name}`,
      storedSha256: async (uri) => server.object('bkt', (parseArtifactUri(uri).location as { key: string }).key)?.metadata.sha256,
      stop: () => server.stop(),
    };
  },
  async file() {
    const root = await tempDir();
    return { driver: createFileDriver(), fresh: (name) => `file://${root}/sub/dir/${name}`, storedSha256: async () => undefined, stop: async () => undefined };
  },
};

for (const [name, makeSubject] of Object.entries(writeSubjects)) {
  for (const size of [100_000, 12 * 1024 * 1024 + 5]) {
    const kind = size > 1_000_000 ? (name === 's3' ? 'multipart' : name === 'gcs' ? 'resumable' : 'large') : 'single';
    test(`${name}: ${kind} write stores the bytes and the SHA-256; a second create-only write is ObjectExistsError`, async (t) => {
      const s = await makeSubject(true);
      t.teardown(() => s.stop());
      const content = randomContent(size);
      const sha256 = sha256Hex(content);
      const md5 = createHash('md5').update(content).digest('hex');
      const ref = parseArtifactUri(s.fresh(`job-${size}.jar`));
      let sent = 0;
      const written = await s.driver.write!(ref, bufferSource(content), { checksums: { sha256, md5 }, ifAbsent: true, onBytes: (n) => (sent += n) });
      t.is(written.size, size);
      t.true(sent >= size);
      const read = await s.driver.read(ref);
      if (read.notModified) return t.fail();
      // Digests, not t.deepEqual: comparing megabytes with ava's diffing takes seconds.
      t.is(sha256Hex(await readAll(read.body)), sha256);
      if (name !== 'file') t.is(await s.storedSha256(ref.raw), sha256);
      t.is((await s.driver.stat(ref))?.checksums.sha256 ?? sha256, sha256);

      const other = randomContent(1000);
      await t.throwsAsync(s.driver.write!(ref, bufferSource(other), { checksums: {}, ifAbsent: true }), { instanceOf: ObjectExistsError });
      const again = await s.driver.read(ref);
      if (again.notModified) return t.fail();
      t.is(sha256Hex(await readAll(again.body)), sha256, 'the losing write changed nothing');

      await s.driver.write!(ref, bufferSource(other), { checksums: {}, ifAbsent: false });
      const replaced = await s.driver.read(ref);
      if (replaced.notModified) return t.fail();
      t.deepEqual(await readAll(replaced.body), other, 'an unconditional write replaces');
    });
  }
}

test('s3: a failed multipart upload is aborted and leaves no object and no pending upload', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('abort');
  await s3.createBucket(bucket);
  const driver = createS3Driver({ settings: readS3Settings(new Map(Object.entries(s3.flinkOptions))), multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
  t.teardown(() => driver.close?.());
  const content = randomContent(16 * 1024 * 1024);
  let opened = 0;
  const failing: UploadSource = {
    size: content.length,
    open: (range) => {
      opened++;
      // The third part's source fails mid-way, as a disk read error would.
      if (opened === 3) {
        return new Readable({
          read() {
            this.destroy(new Error('simulated read error'));
          },
        });
      }
      return Readable.from([content.subarray(range!.start, range!.end + 1)]);
    },
  };
  const ref = parseArtifactUri(`s3://${bucket}/big.jar`);
  await t.throwsAsync(driver.write!(ref, failing, { checksums: {}, ifAbsent: true }));
  t.is(await driver.stat(ref), undefined);
  const pending = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.deepEqual(pending.Uploads ?? [], []);
});

test('writes to a missing bucket or with bad credentials are typed errors naming the object', async (t) => {
  const s3 = await useS3();
  const driver = createS3Driver({ settings: readS3Settings(new Map(Object.entries(s3.flinkOptions))) });
  const denied = createS3Driver({ settings: readS3Settings(new Map(Object.entries({ ...s3.flinkOptions, 's3.secret-key': 'nope-nope' }))) });
  t.teardown(async () => {
    await driver.close?.();
    await denied.close?.();
  });
  const missing = parseArtifactUri(`s3://${uniqueBucket('missing')}/x.jar`);
  await t.throwsAsync(driver.write!(missing, bufferSource(Buffer.from('x')), { checksums: {}, ifAbsent: true }), { instanceOf: ArtifactNotFoundError, message: /bucket does not exist/ });
  const bucket = uniqueBucket('den');
  await s3.createBucket(bucket);
  await t.throwsAsync(denied.write!(parseArtifactUri(`s3://${bucket}/x.jar`), bufferSource(Buffer.from('x')), { checksums: {}, ifAbsent: true }), { instanceOf: AccessDeniedError });

  const gcs = await startGcsServer();
  t.teardown(() => gcs.stop());
  const gcsDriver = createGcsDriver({ apiEndpoint: gcs.url, projectId: 'test' });
  await t.throwsAsync(gcsDriver.write!(parseArtifactUri('gs://no-bucket/x.jar'), bufferSource(Buffer.from('x')), { checksums: {}, ifAbsent: true }), { instanceOf: ArtifactNotFoundError });
});
