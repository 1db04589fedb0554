/**
 * One conformance suite, run against every driver and its real server: S3 on Ceph RGW, GCS on
 * the GCS test server, HTTP and HTTPS on Node's servers, local files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  NotAFileError,
  TransferError,
  parseArtifactUri,
  type StorageDriver,
} from '@flink-artifacts/core';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';
import { randomContent, tempDir, uniqueBucket } from '@flink-artifacts/test-helpers/fixtures';
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
