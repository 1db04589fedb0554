/**
 * The storage drivers against their real servers: the conformance suite (conformance.ts) once per
 * driver (S3 on Ceph RGW, GCS on the GCS test server, HTTP and HTTPS on Node's servers, local
 * files), then what the contract leaves to each store: messages, hints, transport rules, large
 * and multipart writes.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  NotAFileError,
  ObjectChangedError,
  ObjectExistsError,
  TransferError,
  parseArtifactUri,
  type StorageDriver,
  type UploadSource,
} from '@flink-artifacts/core';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';
import { randomContent, sha256Hex, tempDir, uniqueBucket } from '@flink-artifacts/test-helpers/fixtures';
import { createAzureDriver } from '../src/azure-driver.ts';
import { createFileDriver } from '../src/file-driver.ts';
import { createGcsDriver } from '../src/gcs-driver.ts';
import { createHttpDriver } from '../src/http-driver.ts';
import { createS3Driver } from '../src/s3-driver.ts';
import { driverConformance } from './conformance.ts';
import { readAzureSettings, readOssSettings, readS3Settings } from '@flink-artifacts/core';

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A port where nothing listens: a store that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function writeUnder(root: string, name: string, data: Buffer): Promise<string> {
  await mkdir(dirname(join(root, name)), { recursive: true });
  await writeFile(join(root, name), data);
  return join(root, name);
}

// ---- the conformance suite, once per driver against its real server ----

driverConformance(test, 's3', { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true, denied: true, unreachable: true }, async () => {
  const s3 = await useS3();
  const bucket = uniqueBucket('conf');
  await s3.createBucket(bucket);
  const settings = (overrides: Record<string, string>) => readS3Settings(new Map(Object.entries({ ...s3.flinkOptions, ...overrides })));
  const driver = createS3Driver({ settings: settings({}) });
  const denied = createS3Driver({ settings: settings({ 's3.secret-key': 'wrong-secret' }) });
  const down = createS3Driver({ settings: settings({ 's3.endpoint': `http://127.0.0.1:${await closedPort()}` }) });
  return {
    driver,
    capabilities: { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true },
    put: async (name, data) => {
      await s3.put(bucket, name, data);
      return `s3://${bucket}/${name}`;
    },
    uri: (name) => `s3://${bucket}/${name}`,
    listKey: (name) => name,
    missingContainerUri: `s3://${uniqueBucket('missing')}/x.jar`,
    denied: { driver: denied, uri: (name) => `s3://${bucket}/${name}` },
    unreachable: { driver: down, uri: `s3://${bucket}/x.jar` },
    async stop() {
      await Promise.all([driver, denied, down].map((d) => d.close?.()));
    },
  };
});

// oss:// is the S3 driver in its OSS dialect (Flink's fs.oss.* keys, x-oss-forbid-overwrite on
// create-only writes); Ceph RGW stands in for OSS's S3-compatible API.
driverConformance(test, 'oss', { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true, denied: true, unreachable: true }, async () => {
  const s3 = await useS3();
  const bucket = uniqueBucket('oss');
  await s3.createBucket(bucket);
  const settings = (overrides: Record<string, string>) =>
    readOssSettings(new Map(Object.entries({ 'fs.oss.endpoint': s3.endpoint, 'fs.oss.accessKeyId': s3.accessKey, 'fs.oss.accessKeySecret': s3.secretKey, ...overrides })), {});
  const driver = createS3Driver({ dialect: 'oss', settings: settings({}) });
  const denied = createS3Driver({ dialect: 'oss', settings: settings({ 'fs.oss.accessKeySecret': 'wrong-secret' }) });
  const down = createS3Driver({ dialect: 'oss', settings: settings({ 'fs.oss.endpoint': `http://127.0.0.1:${await closedPort()}` }) });
  return {
    driver,
    capabilities: { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true },
    put: async (name, data) => {
      await s3.put(bucket, name, data);
      return `oss://${bucket}/${name}`;
    },
    uri: (name) => `oss://${bucket}/${name}`,
    listKey: (name) => name,
    missingContainerUri: `oss://${uniqueBucket('missing')}/x.jar`,
    denied: { driver: denied, uri: (name) => `oss://${bucket}/${name}` },
    unreachable: { driver: down, uri: `oss://${bucket}/x.jar` },
    async stop() {
      await Promise.all([driver, denied, down].map((d) => d.close?.()));
    },
  };
});

driverConformance(test, 'azure', { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true, denied: true, unreachable: true }, async () => {
  const azure = await useAzure();
  const container = uniqueBucket('conf');
  await azure.createContainer(container);
  const settings = (overrides: Record<string, string>) => readAzureSettings(new Map(Object.entries({ ...azure.flinkOptions, ...overrides })), {});
  const keyName = `fs.azure.account.key.${azure.account}.dfs.core.windows.net`;
  const driver = createAzureDriver({ settings: settings({}) });
  const denied = createAzureDriver({ settings: settings({ [keyName]: Buffer.alloc(64, 7).toString('base64') }) });
  const down = createAzureDriver({ settings: settings({ 'flink-artifacts.azure.endpoint': `http://127.0.0.1:${await closedPort()}/${azure.account}` }) });
  return {
    driver,
    capabilities: { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true },
    put: async (name, data) => {
      await azure.put(container, name, data);
      return azure.uri(container, name);
    },
    uri: (name) => azure.uri(container, name),
    listKey: (name) => name,
    missingContainerUri: azure.uri(uniqueBucket('missing'), 'x.jar'),
    denied: { driver: denied, uri: (name) => azure.uri(container, name) },
    unreachable: { driver: down, uri: azure.uri(container, 'x.jar') },
    async stop() {
      await Promise.all([driver, denied, down].map((d) => d.close?.()));
    },
  };
});

driverConformance(test, 'gcs', { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true, denied: true, unreachable: true }, async () => {
  const server = await startGcsServer();
  server.createBucket('bkt');
  server.createBucket('private');
  server.denyBucket('private');
  const driver = createGcsDriver({ apiEndpoint: server.url, projectId: 'test' });
  const down = createGcsDriver({ apiEndpoint: `http://127.0.0.1:${await closedPort()}`, projectId: 'test' });
  return {
    driver,
    capabilities: { write: true, list: true, hash: false, statesMd5: true, keepsSha256: true, containers: true },
    put: async (name, data) => {
      await server.putObject('bkt', name, data);
      return `gs://bkt/${name}`;
    },
    uri: (name) => `gs://bkt/${name}`,
    listKey: (name) => name,
    missingContainerUri: 'gs://no-such-bucket/x.jar',
    denied: { driver, uri: (name) => `gs://private/${name}` },
    unreachable: { driver: down, uri: 'gs://bkt/x.jar' },
    stop: () => server.stop(),
  };
});

driverConformance(test, 'http', { write: false, list: false, hash: false, statesMd5: false, keepsSha256: false, containers: false, denied: true, unreachable: true }, async () => {
  const root = await tempDir();
  const server = await startHttpServer({ root, requiredHeaders: { authorization: 'Bearer t0ken' } });
  const driver = createHttpDriver({ rawHttpEnabled: true, headers: { Authorization: 'Bearer t0ken' } });
  const denied = createHttpDriver({ rawHttpEnabled: true });
  const down = createHttpDriver({ rawHttpEnabled: true });
  const port = await closedPort();
  return {
    driver,
    capabilities: { write: false, list: false, hash: false, statesMd5: false, keepsSha256: false, containers: false },
    put: async (name, data) => {
      await writeUnder(root, name, data);
      return `${server.url}/${name}`;
    },
    uri: (name) => `${server.url}/${name}`,
    listKey: (name) => name,
    denied: { driver: denied, uri: (name) => `${server.url}/${name}` },
    unreachable: { driver: down, uri: `http://127.0.0.1:${port}/x.jar` },
    async stop() {
      await Promise.all([driver, denied, down].map((d) => d.close?.()));
      await server.stop();
    },
  };
});

driverConformance(test, 'https', { write: false, list: false, hash: false, statesMd5: true, keepsSha256: false, containers: false, denied: false, unreachable: false }, async () => {
  const root = await tempDir();
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls, contentMd5: true });
  const driver = createHttpDriver({ ca: tls.cert });
  return {
    driver,
    capabilities: { write: false, list: false, hash: false, statesMd5: true, keepsSha256: false, containers: false },
    put: async (name, data) => {
      await writeUnder(root, name, data);
      return `${server.url}/${name}`;
    },
    uri: (name) => `${server.url}/${name}`,
    listKey: (name) => name,
    async stop() {
      await driver.close?.();
      await server.stop();
    },
  };
});

driverConformance(test, 'file', { write: true, list: true, hash: true, statesMd5: false, keepsSha256: false, containers: false, denied: false, unreachable: false }, async () => {
  const root = await tempDir();
  return {
    driver: createFileDriver(),
    capabilities: { write: true, list: true, hash: true, statesMd5: false, keepsSha256: false, containers: false },
    put: async (name, data) => `file://${await writeUnder(root, name, data)}`,
    uri: (name) => `file://${root}/${name}`,
    listKey: (name) => join(root, name),
    stop: async () => undefined,
  };
});

// ---- what the contract leaves to each store: messages, hints, transport rules ----

test('s3: wrong credentials are AccessDeniedError naming the URI, and the secret never appears', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('den');
  await s3.createBucket(bucket);
  await s3.put(bucket, 'job.jar', 'x');
  const denied = createS3Driver({ settings: readS3Settings(new Map(Object.entries({ ...s3.flinkOptions, 's3.secret-key': 'wrong-secret' }))) });
  t.teardown(() => denied.close?.());
  const error = await t.throwsAsync(denied.read(parseArtifactUri(`s3://${bucket}/job.jar`)), { instanceOf: AccessDeniedError });
  t.false(error.message.includes('wrong-secret'));
  t.regex(error.message, /s3:\/\//);
});

test('http: a missing required header is AccessDeniedError naming the status (401)', async (t) => {
  const root = await tempDir();
  await writeFile(join(root, 'x.jar'), 'x');
  const server = await startHttpServer({ root, requiredHeaders: { authorization: 'Bearer t0ken' } });
  t.teardown(() => server.stop());
  const error = await t.throwsAsync(createHttpDriver({ rawHttpEnabled: true }).read(parseArtifactUri(`${server.url}/x.jar`)), { instanceOf: AccessDeniedError });
  t.regex(error.message, /401/);
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
  for (const size of [12 * 1024 * 1024 + 5]) {
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

test('http: a server that ignores If-Range cannot splice another version\'s bytes onto a resumed download', async (t) => {
  const root = await tempDir();
  await writeFile(join(root, 'x.jar'), randomContent(100_000));
  const server = await startHttpServer({ root, ignoreIfRange: true });
  t.teardown(() => server.stop());
  const driver = createHttpDriver({ rawHttpEnabled: true });
  t.teardown(() => driver.close?.());
  const ref = parseArtifactUri(`${server.url}/x.jar`);
  const old = (await driver.stat(ref))?.version;
  await writeFile(join(root, 'x.jar'), randomContent(100_001));
  await t.throwsAsync(driver.read(ref, { start: 50_000, ifMatch: old }), { instanceOf: ObjectChangedError, message: /range is of another version/ });
  // The same version still resumes.
  const current = (await driver.stat(ref))?.version;
  const resumed = await driver.read(ref, { start: 50_000, ifMatch: current });
  t.false(resumed.notModified);
  if (!resumed.notModified) {
    t.is(resumed.start, 50_000);
    t.is((await readAll(resumed.body)).length, 50_001);
  }
});

test('http: a 206 from another offset than asked, or a 200 to a range, is never taken for the range', async (t) => {
  const content = randomContent(10_000);
  // A broken server: every range answered from byte 0 (206), or ranges ignored (200).
  const server = createServer((socket) => {
    socket.once('data', (request) => {
      const text = request.toString('latin1');
      const ranged = /range: bytes=/i.test(text);
      const wrong = text.includes('/wrong.jar');
      const head = ranged && wrong ? `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-${content.length - 1}/${content.length}\r\n` : 'HTTP/1.1 200 OK\r\n';
      socket.end(Buffer.concat([Buffer.from(`${head}ETag: "v1"\r\nAccept-Ranges: bytes\r\nContent-Length: ${content.length}\r\nConnection: close\r\n\r\n`), content]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const driver = createHttpDriver({ rawHttpEnabled: true });
  t.teardown(() => driver.close?.());
  await t.throwsAsync(driver.read(parseArtifactUri(`http://127.0.0.1:${port}/wrong.jar`), { start: 4000, end: 4999, ifMatch: '"v1"' }), { instanceOf: ObjectChangedError, message: /asked for bytes from 4000, the server sent them from 0/ });
  const whole = await driver.read(parseArtifactUri(`http://127.0.0.1:${port}/ignored.jar`), { start: 0, end: 999, ifMatch: '"v1"' });
  t.false(whole.notModified);
  if (!whole.notModified) {
    t.is(whole.start, 0);
    t.is(whole.end, content.length - 1, 'the whole object: its end is not the range\'s');
    whole.body.destroy();
  }
});

test('https to a server that speaks plain http: one clear, permanent error on one line, with what to do (S3 and HTTP)', async (t) => {
  const s3 = await useS3();
  const httpsEndpoint = s3.endpoint.replace(/^http:/, 'https:');
  const driver = createS3Driver({ settings: readS3Settings(new Map(Object.entries({ ...s3.flinkOptions, 's3.endpoint': httpsEndpoint }))) });
  t.teardown(() => driver.close?.());
  const s3Error = await t.throwsAsync(driver.stat(parseArtifactUri('s3://any-bucket/x.jar')), { instanceOf: TransferError });
  t.false((s3Error as TransferError).retryable, s3Error.message);
  t.regex((s3Error as TransferError).hint ?? '', /does not speak TLS .*write http:\/\//);
  t.false(s3Error.message.includes('\n'), s3Error.message);

  const root = await tempDir();
  await writeFile(join(root, 'x.jar'), 'x');
  const server = await startHttpServer({ root });
  t.teardown(() => server.stop());
  const http = createHttpDriver({ rawHttpEnabled: true });
  t.teardown(() => http.close?.());
  const httpError = await t.throwsAsync(http.stat(parseArtifactUri(`${server.url.replace(/^http:/, 'https:')}/x.jar`)), { instanceOf: TransferError });
  t.false((httpError as TransferError).retryable, httpError.message);
  t.regex((httpError as TransferError).hint ?? '', /does not speak TLS/);
});
