/**
 * What the conformance suite leaves to Azure Blob Storage (on Azurite) and to OSS (the S3 driver's
 * OSS dialect): every credential form Flink users give, block uploads of large files, races of
 * creators, and OSS's create-only header and refusal.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import test from 'ava';
import {
  AccessDeniedError,
  ConfigError,
  ObjectExistsError,
  TransferError,
  parseArtifactUri,
  readAzureSettings,
  readOssSettings,
  type StorageDriver,
  type UploadSource,
} from '@flink-artifacts/core';
import { useAzure, type TestAzure } from '@flink-artifacts/test-helpers/azure';
import { randomContent, sha256Hex, uniqueBucket } from '@flink-artifacts/test-helpers/fixtures';
import { createAzureDriver } from '../src/azure-driver.ts';
import { createS3Driver } from '../src/s3-driver.ts';

const MIB = 1024 * 1024;

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function bufferSource(data: Buffer): UploadSource {
  return { size: data.length, open: (range) => Readable.from([range ? data.subarray(range.start, range.end + 1) : data]) };
}

async function readBack(driver: StorageDriver, uri: string): Promise<Buffer> {
  const result = await driver.read(parseArtifactUri(uri));
  if (result.notModified) throw new Error('unexpected "not modified"');
  return readAll(result.body);
}

async function containerWith(azure: TestAzure, name: string, content: Buffer): Promise<string> {
  const container = uniqueBucket('cred');
  await azure.createContainer(container);
  await azure.put(container, name, content);
  return container;
}

const azureDriver = (options: Record<string, string>, env: Record<string, string> = {}, tuning: { blockThreshold?: number; blockSize?: number } = {}): StorageDriver =>
  createAzureDriver({ settings: readAzureSettings(new Map(Object.entries(options)), env), ...tuning });

test('azure: every credential form reads the blob: account key (dfs and blob keys), container SAS, account SAS, the environment, a connection string', async (t) => {
  const azure = await useAzure();
  const content = randomContent(10_000);
  const container = await containerWith(azure, 'lib/udf.jar', content);
  const sas = await azure.containerSas(container);
  const { account, accountKey, endpointOptions } = azure;
  const forms: Record<string, StorageDriver> = {
    'fs.azure.account.key.<account>.dfs...': azureDriver({ ...endpointOptions, [`fs.azure.account.key.${account}.dfs.core.windows.net`]: accountKey }),
    'fs.azure.account.key.<account>.blob...': azureDriver({ ...endpointOptions, [`fs.azure.account.key.${account}.blob.core.windows.net`]: accountKey }),
    'fs.azure.sas.<container>.<account>.blob...': azureDriver({ ...endpointOptions, [`fs.azure.sas.${container}.${account}.blob.core.windows.net`]: `?${sas}` }),
    'fs.azure.sas.fixed.token.<account>.dfs...': azureDriver({ ...endpointOptions, [`fs.azure.sas.fixed.token.${account}.dfs.core.windows.net`]: sas }),
    AZURE_STORAGE_KEY: azureDriver(endpointOptions, { AZURE_STORAGE_KEY: accountKey }),
    AZURE_STORAGE_SAS_TOKEN: azureDriver(endpointOptions, { AZURE_STORAGE_SAS_TOKEN: sas }),
    AZURE_STORAGE_CONNECTION_STRING: azureDriver({}, { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${accountKey};BlobEndpoint=${azure.endpoint};` }),
  };
  t.teardown(() => Promise.all(Object.values(forms).map((driver) => driver.close?.())));
  for (const [form, driver] of Object.entries(forms)) {
    for (const uri of [azure.uri(container, 'lib/udf.jar', 'abfss'), azure.uri(container, 'lib/udf.jar', 'wasbs')]) {
      t.true((await readBack(driver, uri)).equals(content), `${form}: ${uri}`);
    }
  }
});

test('azure: a wrong key, a SAS without write permission and a connection string for another account are typed errors that never show the secret', async (t) => {
  const azure = await useAzure();
  const container = await containerWith(azure, 'job.jar', Buffer.from('x'));
  const uri = azure.uri(container, 'job.jar');
  const wrongKey = Buffer.alloc(64, 9).toString('base64');
  const denied = azureDriver({ ...azure.endpointOptions, [`fs.azure.account.key.${azure.account}.dfs.core.windows.net`]: wrongKey });
  const readOnlySasUrl = await azure.service.getContainerClient(container).generateSasUrl({ permissions: (await import('@azure/storage-blob')).ContainerSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
  const readOnlySas = new URL(readOnlySasUrl).search.slice(1);
  const sig = new URLSearchParams(readOnlySas).get('sig')!;
  const readOnly = azureDriver({ ...azure.endpointOptions, [`fs.azure.sas.${container}.${azure.account}.blob.core.windows.net`]: readOnlySas });
  const otherAccount = azureDriver({}, { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=someoneelse;AccountKey=${wrongKey};BlobEndpoint=http://127.0.0.1:9/someoneelse;` });
  t.teardown(() => Promise.all([denied, readOnly, otherAccount].map((driver) => driver.close?.())));

  const keyError = await t.throwsAsync(denied.read(parseArtifactUri(uri)), { instanceOf: AccessDeniedError });
  t.true(keyError.message.startsWith(uri), keyError.message);
  t.false(JSON.stringify({ message: keyError.message, hint: (keyError as AccessDeniedError).hint }).includes(wrongKey));
  t.regex((keyError as AccessDeniedError).hint ?? '', /fs\.azure\.account\.key/);

  t.true((await readBack(readOnly, uri)).equals(Buffer.from('x')));
  const writeError = await t.throwsAsync(readOnly.write!(parseArtifactUri(azure.uri(container, 'new.jar')), bufferSource(Buffer.from('y')), { checksums: {}, ifAbsent: true }), { instanceOf: AccessDeniedError });
  for (const secret of [sig, encodeURIComponent(sig)]) t.false(`${writeError.message} ${String((writeError as AccessDeniedError).hint)}`.includes(secret));

  await t.throwsAsync(otherAccount.stat(parseArtifactUri(uri)), { instanceOf: ConfigError, message: /AZURE_STORAGE_CONNECTION_STRING is for account someoneelse/ });

  // The options win over the environment: this account's key, whatever connection string is set.
  const keyAndOtherString = azureDriver(
    { ...azure.endpointOptions, [`fs.azure.account.key.${azure.account}.dfs.core.windows.net`]: azure.accountKey },
    { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=someoneelse;AccountKey=${wrongKey};BlobEndpoint=http://127.0.0.1:9/someoneelse;` },
  );
  // A SAS inside a connection string is masked as any SAS is.
  const stringSas = azureDriver({}, { AZURE_STORAGE_CONNECTION_STRING: `BlobEndpoint=${azure.endpoint};SharedAccessSignature=${readOnlySas}` });
  t.teardown(() => Promise.all([keyAndOtherString, stringSas].map((driver) => driver.close?.())));
  t.true((await readBack(keyAndOtherString, uri)).equals(Buffer.from('x')));
  t.true((await readBack(stringSas, uri)).equals(Buffer.from('x')));
  const stringSasError = await t.throwsAsync(stringSas.write!(parseArtifactUri(azure.uri(container, 'other.jar')), bufferSource(Buffer.from('y')), { checksums: {}, ifAbsent: true }), { instanceOf: AccessDeniedError });
  for (const secret of [sig, encodeURIComponent(sig)]) t.false(`${stringSasError.message} ${String((stringSasError as AccessDeniedError).hint)}`.includes(secret));
});

test('azure: a large upload goes as blocks streamed from byte ranges: the bytes, our SHA-256, nothing visible before the commit', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('blocks');
  await azure.createContainer(container);
  const driver = azureDriver(azure.flinkOptions, {}, { blockThreshold: 8 * MIB, blockSize: 4 * MIB });
  t.teardown(() => driver.close?.());
  const content = randomContent(26 * MIB + 123);
  const ranges: { start: number; end: number }[] = [];
  const source: UploadSource = {
    size: content.length,
    open: (range) => {
      ranges.push(range!);
      return Readable.from([content.subarray(range!.start, range!.end + 1)]);
    },
  };
  const sha256 = sha256Hex(content);
  const uri = azure.uri(container, 'big/job.jar');
  const written = await driver.write!(parseArtifactUri(uri), source, { checksums: { sha256 }, ifAbsent: true });
  t.is(written.size, content.length);
  // Seven blocks of 4 MiB, read as ranges of the file: never the whole file at once.
  t.is(ranges.length, 7);
  t.true(ranges.every((range) => range.end - range.start + 1 <= 4 * MIB));
  t.is(ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0), content.length);
  const stat = await driver.stat(parseArtifactUri(uri));
  t.is(stat?.size, content.length);
  t.is(stat?.checksums.sha256, sha256);
  t.is(stat?.version, written.version);
  t.is(createHash('sha256').update(await readBack(driver, uri)).digest('hex'), sha256);
  // The blocks are committed under IDs of this write only.
  const blocks = await azure.service.getContainerClient(container).getBlockBlobClient('big/job.jar').getBlockList('all');
  t.is(blocks.committedBlocks?.length, 7);
  t.is(new Set(blocks.committedBlocks?.map((block) => Buffer.from(block.name!, 'base64').toString().split('-')[0])).size, 1);
});

test('azure: a block whose source fails (a disk read error) ends the upload at once, with nothing under the name', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('blockfail');
  await azure.createContainer(container);
  const driver = azureDriver(azure.flinkOptions, {}, { blockThreshold: 8 * MIB, blockSize: 4 * MIB });
  t.teardown(() => driver.close?.());
  const content = randomContent(12 * MIB);
  const failing: UploadSource = {
    size: content.length,
    open: (range) =>
      range!.start === 4 * MIB
        ? new Readable({
            read() {
              this.destroy(new Error('simulated read error'));
            },
          })
        : Readable.from([content.subarray(range!.start, range!.end + 1)]),
  };
  const doomed = parseArtifactUri(azure.uri(container, 'doomed.jar'));
  let attempts = 0;
  const retryPart = async <T>(attempt: () => Promise<T>): Promise<T> => {
    attempts++;
    return attempt();
  };
  const error = await t.throwsAsync(driver.write!(doomed, failing, { checksums: {}, ifAbsent: true, retryPart }), { instanceOf: TransferError });
  t.regex(error.message, /doomed\.jar: reading the upload source failed: simulated read error/);
  t.false((error as TransferError).retryable);
  t.is(await driver.stat(doomed), undefined);
  t.true(attempts <= 3);
});

test('azure: 5 races of two create-only block uploads of different content: one wins whole each time, the other is ObjectExistsError', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('race');
  await azure.createContainer(container);
  const driver = azureDriver(azure.flinkOptions, {}, { blockThreshold: 2 * MIB, blockSize: 1 * MIB });
  t.teardown(() => driver.close?.());
  for (let round = 0; round < 5; round++) {
    const contents = [randomContent(6 * MIB), randomContent(6 * MIB)];
    const uri = azure.uri(container, `race-${round}.jar`);
    const results = await Promise.allSettled(contents.map((content) => driver.write!(parseArtifactUri(uri), bufferSource(content), { checksums: { sha256: sha256Hex(content) }, ifAbsent: true })));
    const won = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
    t.is(won.length, 1, `round ${round}: ${results.map((r) => r.status === 'rejected' ? (r.reason as Error).message : 'ok').join(' | ')}`);
    const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    t.true(lost.reason instanceof ObjectExistsError, `round ${round}: ${(lost.reason as Error).message}`);
    // The stored blob is the winner's, whole: no block of the loser in it.
    t.true((await readBack(driver, uri)).equals(contents[won[0]!]!), `round ${round}`);
  }
});

// ---- OSS: the S3 driver's dialect for oss:// ----

/**
 * A server that answers as OSS does to create-only writes: `x-oss-forbid-overwrite: true` over an
 * existing object is 409 FileAlreadyExists (OSS's PutObject documentation). It records requests.
 */
async function startOssLikeServer(): Promise<{ url: string; requests: IncomingMessage[]; stop(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const stored = new Set<string>();
  const server: Server = createServer((req, res) => {
    requests.push(req);
    req.resume();
    req.on('end', () => {
      const key = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'PUT' && req.headers['x-oss-forbid-overwrite'] === 'true' && stored.has(key)) {
        res.writeHead(409, { 'content-type': 'application/xml', 'x-oss-request-id': 'test' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>FileAlreadyExists</Code><Message>The object you specified already exists and can not be overwritten.</Message></Error>');
        return;
      }
      if (req.method === 'PUT') {
        stored.add(key);
        res.writeHead(200, { etag: '"d41d8cd98f00b204e9800998ecf8427e"' });
        res.end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('oss: create-only writes carry x-oss-forbid-overwrite, and OSS\'s 409 FileAlreadyExists is ObjectExistsError', async (t) => {
  const server = await startOssLikeServer();
  t.teardown(() => server.stop());
  const settings = readOssSettings(new Map([['fs.oss.endpoint', server.url], ['fs.oss.accessKeyId', 'AK'], ['fs.oss.accessKeySecret', 'SK-secret-value']]), {});
  const driver = createS3Driver({ dialect: 'oss', settings });
  t.teardown(() => driver.close?.());
  const ref = parseArtifactUri('oss://bkt/jobs/job.jar');
  await driver.write!(ref, bufferSource(Buffer.from('first')), { checksums: {}, ifAbsent: true });
  t.is(server.requests.at(-1)?.headers['x-oss-forbid-overwrite'], 'true');
  const error = await t.throwsAsync(driver.write!(ref, bufferSource(Buffer.from('second')), { checksums: {}, ifAbsent: true }), { instanceOf: ObjectExistsError });
  t.regex(error.message, /^oss:\/\/bkt\/jobs\/job\.jar/);
  // An overwrite asked for sends no such header.
  await driver.write!(ref, bufferSource(Buffer.from('third')), { checksums: {}, ifAbsent: false });
  t.is(server.requests.at(-1)?.headers['x-oss-forbid-overwrite'], undefined);
  t.false(JSON.stringify(server.requests.map((r) => r.url)).includes('SK-secret-value'));
});

test('oss: without fs.oss.endpoint or without keys nothing is sent (the AWS SDK would go to AWS with them)', (t) => {
  t.throws(() => createS3Driver({ dialect: 'oss', settings: readOssSettings(new Map([['fs.oss.accessKeyId', 'AK'], ['fs.oss.accessKeySecret', 'SK']]), {}) }), {
    instanceOf: ConfigError,
    message: /fs\.oss\.endpoint/,
  });
  const error = t.throws(() => createS3Driver({ dialect: 'oss', settings: readOssSettings(new Map([['fs.oss.endpoint', 'oss-cn-hangzhou.aliyuncs.com']]), {}) }), { instanceOf: AccessDeniedError });
  t.regex((error as AccessDeniedError).hint ?? '', /fs\.oss\.accessKeyId/);
});
