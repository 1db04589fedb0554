/**
 * A server that accepts an upload and then stops reading it (a hung store, a middlebox) must not
 * hang the upload: the idle timeout ends the attempt, the retry policy tries again, and a store
 * that keeps hanging ends in a clear error within the configured bounds. On every store that
 * takes writes: S3 (Ceph RGW) and GCS (the GCS test server), each behind a fault proxy.
 */
import { join } from 'node:path';
import test from 'ava';
import { DEFAULT_TRANSFER_POLICY, type TransferPolicy } from '@flink-artifacts/core';
import { UploadFailedError, uploadArtifacts, type UploadEvent } from '@flink-artifacts/client';
import { startFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const MiB = 1024 * 1024;
const policy: TransferPolicy = { ...DEFAULT_TRANSFER_POLICY, initialBackoffMs: 10, maxBackoffMs: 50, idleTimeoutMs: 1000, connectTimeoutMs: 2000 };

interface Store {
  /** Flink options for the upload target behind the proxy. */
  options: Record<string, string>;
  storage: Parameters<typeof uploadArtifacts>[0]['storage'];
  /** The method and path of the upload request to stall. */
  upload: { method: string; path: RegExp };
  /** The SHA-256 of what the store holds at `name`, read through its own API. */
  stored(name: string): Promise<string | undefined>;
  proxy: Awaited<ReturnType<typeof startFaultProxy>>;
}

const stores: Record<string, () => Promise<Store>> = {
  async s3() {
    const s3 = await useS3();
    const bucket = uniqueBucket('stall');
    await s3.createBucket(bucket);
    const proxy = await startFaultProxy(s3.endpoint);
    return {
      options: { ...s3.flinkOptions, 's3.endpoint': proxy.url, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/jobs/` },
      storage: {},
      upload: { method: 'PUT', path: /\/jobs\// },
      async stored(name) {
        const { GetObjectCommand } = await import('@aws-sdk/client-s3');
        const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: `jobs/${name}` })).catch(() => undefined);
        return object?.Body === undefined ? undefined : sha256Hex(Buffer.from(await object.Body.transformToByteArray()));
      },
      proxy,
    };
  },
  async gcs() {
    const server = await startGcsServer();
    server.createBucket('bkt');
    const proxy = await startFaultProxy(server.url);
    return {
      options: { 'kubernetes.artifacts.local-upload-target': 'gs://bkt/jobs/' },
      storage: { gcs: { apiEndpoint: proxy.url, projectId: 'test' } },
      upload: { method: 'POST', path: /^\/upload\// },
      async stored(name) {
        const record = server.object('bkt', `jobs/${name}`);
        return record === undefined ? undefined : record.metadata.sha256;
      },
      proxy: {
        ...proxy,
        async stop() {
          await proxy.stop();
          await server.stop();
        },
      },
    };
  },
};

for (const [name, makeStore] of Object.entries(stores)) {
  test(`${name}: an upload the server stops reading is retried after the idle timeout and completes`, async (t) => {
    const store = await makeStore();
    t.teardown(() => store.proxy.stop());
    store.proxy.inject({ method: store.upload.method, path: store.upload.path, fault: { kind: 'stall-upload', afterBytes: 256 * 1024 }, times: 1 });
    const src = await tempDir();
    const content = randomContent(24 * MiB);
    await writeFixture(join(src, 'job.jar'), content);
    const events: UploadEvent[] = [];
    const started = Date.now();
    const report = await uploadArtifacts({ config: new Map(Object.entries(store.options)), jobUri: `${src}/job.jar`, policy, storage: store.storage, checksumCache: false, onEvent: (e) => events.push(e) });
    t.is(report.items[0]?.status, 'uploaded');
    const retry = events.find((e) => e.type === 'retry');
    t.regex(retry?.type === 'retry' ? retry.reason : '', /no data sent for 1 s, the transfer stalled/);
    t.is(await store.stored('job.jar'), sha256Hex(content), 'the store holds the file, whole');
    t.true(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  test(`${name}: a server that keeps stalling ends the upload in a clear error within the configured bounds`, async (t) => {
    const store = await makeStore();
    t.teardown(() => store.proxy.stop());
    store.proxy.inject({ method: store.upload.method, path: store.upload.path, fault: { kind: 'stall-upload', afterBytes: 256 * 1024 }, times: 100 });
    const src = await tempDir();
    await writeFixture(join(src, 'job.jar'), randomContent(24 * MiB));
    const started = Date.now();
    const error = await t.throwsAsync(
      uploadArtifacts({ config: new Map(Object.entries(store.options)), jobUri: `${src}/job.jar`, policy: { ...policy, maxAttempts: 3 }, storage: store.storage, checksumCache: false }),
      { instanceOf: UploadFailedError },
    );
    const elapsed = Date.now() - started;
    t.regex(error.message, /job\.jar: no data sent for 1 s, the transfer stalled/);
    t.is(store.proxy.requests.filter((r) => r.method === store.upload.method && store.upload.path.test(r.path)).length, 3, 'three attempts, as max-attempts says');
    // Three idle timeouts (1 s each) plus short backoffs; never the default minute, never forever.
    t.true(elapsed >= 3000 && elapsed < 15_000, `took ${elapsed} ms`);
    t.is(await store.stored('job.jar'), undefined, 'nothing was published');
  });
}
