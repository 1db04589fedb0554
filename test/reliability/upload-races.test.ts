/**
 * Create-only uploads that race, pins that are always checked, and multipart parts retried one
 * by one: against the real S3 server (Ceph RGW 16, which ignores If-None-Match on
 * CompleteMultipartUpload), a fault proxy where a part must fail.
 */
import { join } from 'node:path';
import test from 'ava';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { DEFAULT_TRANSFER_POLICY, type TransferPolicy } from '@flink-artifacts/core';
import { UploadFailedError, uploadArtifacts, type UploadReport } from '@flink-artifacts/client';
import { startFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const MiB = 1024 * 1024;
const fast: TransferPolicy = { ...DEFAULT_TRANSFER_POLICY, initialBackoffMs: 10, maxBackoffMs: 200 };

async function storedSha256(bucket: string, key: string): Promise<string | undefined> {
  const s3 = await useS3();
  const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  return object?.Body === undefined ? undefined : sha256Hex(Buffer.from(await object.Body.transformToByteArray()));
}

test('10 races of two 100 MiB create-only uploads of different content: exactly one succeeds each time, the other is told', async (t) => {
  t.timeout(600_000);
  const s3 = await useS3();
  const bucket = uniqueBucket('race');
  await s3.createBucket(bucket);
  const dirs = [await tempDir(), await tempDir()];
  for (let round = 0; round < 10; round++) {
    const contents = [randomContent(100 * MiB), randomContent(100 * MiB)];
    await Promise.all(dirs.map((dir, i) => writeFixture(join(dir, 'job.jar'), contents[i]!)));
    const target = `s3://${bucket}/round-${round}/`;
    const outcomes = await Promise.allSettled(
      dirs.map((dir) =>
        uploadArtifacts({ config: new Map(Object.entries({ ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': target })), jobUri: `${dir}/job.jar`, policy: fast, checksumCache: false }),
      ),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' && (o.value as UploadReport).items[0]?.status === 'uploaded' ? [i] : []));
    t.is(won.length, 1, `round ${round}: exactly one upload reports success`);
    const lost = outcomes.find((o) => o.status === 'rejected');
    t.true(lost !== undefined && lost.reason instanceof UploadFailedError, `round ${round}: the other fails`);
    if (lost?.status === 'rejected') {
      const item = (lost.reason as UploadFailedError).report.items[0]!;
      t.is(item.error?.code, 'ERR_TARGET_EXISTS', `round ${round}`);
      t.regex(item.error?.message ?? '', new RegExp(`${target}job\\.jar .*not replacing it`), `round ${round}: names the key`);
    }
    t.is(await storedSha256(bucket, `round-${round}/job.jar`), sha256Hex(contents[won[0]!]!), `round ${round}: the store holds the winner's bytes`);
    await t.throwsAsync(s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `round-${round}/job.jar.flink-artifacts-lease` })), undefined, 'no lease is left behind');
  }
  const pending = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.deepEqual(pending.Uploads ?? [], []);
});

test('two create-only uploads of the same 100 MiB file race: one uploads, the other finds it identical and skips', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('same');
  await s3.createBucket(bucket);
  const content = randomContent(100 * MiB);
  const dirs = [await tempDir(), await tempDir()];
  await Promise.all(dirs.map((dir) => writeFixture(join(dir, 'job.jar'), content)));
  const reports = await Promise.all(
    dirs.map((dir) =>
      uploadArtifacts({ config: new Map(Object.entries({ ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/p/` })), jobUri: `${dir}/job.jar`, policy: fast, checksumCache: false }),
    ),
  );
  t.deepEqual(reports.map((r) => r.items[0]?.status).sort(), ['skipped', 'uploaded']);
  t.is(await storedSha256(bucket, 'p/job.jar'), sha256Hex(content));
});

test('a #sha256 pin is checked against the file every time, also when its checksum is remembered', async (t) => {
  const src = await tempDir();
  const content = randomContent(100_000);
  await writeFixture(join(src, 'job.jar'), content);
  const cache = join(await tempDir(), 'checksums.json');
  const upload = (target: string, jobUri: string, dryRun = false) =>
    uploadArtifacts({ config: new Map([['kubernetes.artifacts.local-upload-target', `file://${target}/`]]), jobUri, checksumCache: cache, dryRun });
  // Warm the cache with an unpinned upload.
  await upload(await tempDir(), `local://${src}/job.jar`);
  const wrong = 'ab'.repeat(32);
  for (const dryRun of [false, true]) {
    const target = await tempDir();
    const error = await t.throwsAsync(upload(target, `local://${src}/job.jar#sha256=${wrong}`, dryRun), { instanceOf: UploadFailedError });
    t.is(error.report.items[0]?.error?.code, 'ERR_CHECKSUM_MISMATCH', `dryRun=${dryRun}`);
    t.regex(error.report.items[0]?.error?.message ?? '', new RegExp(`the URI pins ${wrong}`));
  }
  const right = await upload(await tempDir(), `local://${src}/job.jar#sha256=${sha256Hex(content)}`);
  t.is(right.items[0]?.status, 'uploaded');
  t.regex(right.jobUri ?? '', new RegExp(`#sha256=${sha256Hex(content)}$`));
});

test('multipart: a failing part is retried alone; a part that keeps failing aborts the upload and leaves nothing pending', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('parts');
  await s3.createBucket(bucket);
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  const src = await tempDir();
  const content = randomContent(80 * MiB);
  await writeFixture(join(src, 'big.jar'), content);
  const config = (prefix: string) => new Map(Object.entries({ ...s3.flinkOptions, 's3.endpoint': proxy.url, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/${prefix}/` }));
  const partRequests = (prefix: string, part: number) => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`/${prefix}/big.jar?`) && new RegExp(`[?&]partNumber=${part}(&|$)`).test(r.path)).length;

  proxy.inject({ method: 'PUT', path: /\/ok\/big\.jar\?.*partNumber=2(&|$)/, fault: { kind: 'status', status: 503 }, times: 2 });
  const report = await uploadArtifacts({ config: config('ok'), jobUri: `${src}/big.jar`, policy: fast, checksumCache: false });
  t.is(report.items[0]?.status, 'uploaded');
  t.is(partRequests('ok', 2), 3, 'part 2: two failures and the retry');
  for (const part of [1, 3, 4, 5]) t.is(partRequests('ok', part), 1, `part ${part} was sent once`);
  t.is(await storedSha256(bucket, 'ok/big.jar'), sha256Hex(content));

  proxy.inject({ method: 'PUT', path: /\/bad\/big\.jar\?.*partNumber=2(&|$)/, fault: { kind: 'status', status: 503 }, times: 1000 });
  const error = await t.throwsAsync(uploadArtifacts({ config: config('bad'), jobUri: `${src}/big.jar`, policy: { ...fast, maxAttempts: 3 }, checksumCache: false }), { instanceOf: UploadFailedError });
  t.regex(error.message, /big\.jar \(part 2 of 5\): upload failed .*HTTP 503/);
  t.is(partRequests('bad', 2), 3, 'three attempts of the part, not of the whole object');
  t.is(proxy.requests.filter((r) => r.method === 'POST' && r.path.includes('/bad/big.jar?uploads')).length, 1, 'one multipart upload was started');
  const pending = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.deepEqual(pending.Uploads ?? [], [], 'the multipart upload was aborted');
  t.is(await storedSha256(bucket, 'bad/big.jar'), undefined, 'nothing was published');
});
