/**
 * Where a fetch may go (the source policy), what missing or refused credentials are, and the
 * small truths of reports and messages. Packets stay on loopback: a guard stops any connect
 * elsewhere before it happens and records it; a test resolver maps test names to addresses.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { AccessDeniedError, parseArtifactUri, readAzureSettings, readClusterLocation } from '@flink-artifacts/core';
import { createDriverPicker } from '@flink-artifacts/storage';
import { FetchFailedError, fetchArtifacts } from '@flink-artifacts/fetcher';
import { flinkArgs, runCli } from '@flink-artifacts/test-helpers/cli';
import { randomContent, sha256Hex, tempDir, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { guardLoopback } from '@flink-artifacts/test-helpers/loopback-guard';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const guard = guardLoopback();

/** A resolver for tests: `*.metadata.test` is a cloud metadata address, everything else loopback. */
function testLookup(hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  const address = hostname.endsWith('metadata.test') ? '169.254.169.254' : '127.0.0.1';
  if (options.all) callback(null, [{ address, family: 4 }]);
  else callback(null, address, 4);
}

const base = async (extra: Record<string, string> = {}) => new Map(Object.entries({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': await tempDir(), 'user.artifacts.raw-http-enabled': 'true', ...extra }));

test('a metadata address is refused before any byte: as a URI, as a DNS answer, as a redirect target', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'x.jar'), 'x');
  const server = await startHttpServer({ root, redirects: { '/to-name.jar': 'http://latest.metadata.test/x.jar', '/to-ip.jar': 'http://169.254.169.254/x.jar', '/to-mapped.jar': 'http://[::ffff:169.254.169.254]/x.jar' } });
  t.teardown(() => server.stop());
  const blockedBefore = guard.blocked.length;

  const literal = await runCli(['fetch', 'https://169.254.169.254/latest/meta-data/x.jar', ...flinkArgs({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': await tempDir() })]);
  t.is(literal.code, 2, literal.stderr);
  t.regex(literal.stderr, /169\.254\.169\.254 is a link-local or cloud metadata address; refused/);
  const ipv6Forms = ['http://[::ffff:169.254.169.254]/x.jar', 'http://[::ffff:a9fe:a9fe]/x.jar', 'http://[64:ff9b::a9fe:a9fe]/x.jar', 'http://[::a9fe:a9fe]/x.jar', 'http://[fe80::1]/x.jar'];
  for (const name of ['http://metadata.google.internal/x.jar', 'http://[fd00:ec2::254]/x.jar', 'http://100.100.100.200/x.jar', ...ipv6Forms]) {
    await t.throwsAsync(fetchArtifacts({ config: await base(), jobUri: name }), { code: 'ERR_SOURCE_REFUSED' }, name);
  }

  const port = new URL(server.url).port;
  const storage = { http: { lookup: testLookup } };
  const viaDns = await t.throwsAsync(fetchArtifacts({ config: await base(), jobUri: `http://latest.metadata.test:${port}/x.jar`, storage }), { instanceOf: FetchFailedError });
  t.is(viaDns.report.items[0]?.error?.code, 'ERR_SOURCE_REFUSED');
  t.regex(viaDns.message, /resolved to 169\.254\.169\.254/);

  for (const path of ['/to-name.jar', '/to-ip.jar', '/to-mapped.jar']) {
    const redirected = await t.throwsAsync(fetchArtifacts({ config: await base(), jobUri: `${server.url}${path}`, storage }), { instanceOf: FetchFailedError }, path);
    t.is(redirected.report.items[0]?.error?.code, 'ERR_SOURCE_REFUSED', path);
    t.regex(redirected.message, /link-local or cloud metadata address; refused/, path);
  }
  t.deepEqual(guard.blocked.slice(blockedBefore), [], 'nothing even tried to leave loopback');

  // With the policy opened, the attempt is made, and the guard is what stops it: the guard works.
  guard.expect((entry) => entry.address === '169.254.169.254' && entry.host === 'latest.metadata.test');
  await t.throwsAsync(fetchArtifacts({ config: await base({ 'flink-artifacts.source.allow-link-local': 'true', 'flink-artifacts.retry.max-attempts': '1' }), jobUri: `http://latest.metadata.test:${port}/x.jar`, storage }), { instanceOf: FetchFailedError });
  t.deepEqual(guard.blocked.slice(blockedBefore).map((b) => b.address), ['169.254.169.254']);
});

test('allowed schemes and hosts restrict a fetch; the defaults allow everything else', async (t) => {
  const config = await base({ 'flink-artifacts.source.allowed-schemes': 's3a;https', 'flink-artifacts.source.allowed-hosts': 'repo.example.com;*.artifacts.example.com' });
  const refuse = async (uri: string, pattern: RegExp) => {
    const error = await t.throwsAsync(fetchArtifacts({ config, jobUri: uri }), { code: 'ERR_SOURCE_REFUSED' }, uri);
    t.regex(error.message, pattern, uri);
  };
  await refuse('file:///etc/shadow', /scheme file is not allowed/);
  await refuse('gs://b/x.jar', /scheme gs is not allowed/);
  await refuse('https://evil.example.org/x.jar', /host evil\.example\.org is not allowed/);
  await refuse('https://artifacts.example.com/x.jar', /host artifacts\.example\.com is not allowed/);
  const bad = await runCli(['fetch', 's3://b/x.jar', ...flinkArgs({ 'kubernetes.cluster-id': 'app', 'flink-artifacts.source.allowed-schemes': 'ftp' })]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /flink-artifacts\.source\.allowed-schemes: unknown scheme "ftp"/);
});

test('a file:// copy keeps its source\'s permission bits, never wider', async (t) => {
  const src = await tempDir();
  const secret = await writeFixture(join(src, 'keystore.jks'), 'secret bytes');
  await chmod(secret, 0o640);
  const config = await base();
  const report = await fetchArtifacts({ config, jobUri: `file://${secret}` });
  t.is((await stat(report.jobJar!)).mode & 0o777, 0o640);
  // The source made private since: the reused copy follows it, as a fresh copy would.
  await chmod(secret, 0o600);
  const again = await fetchArtifacts({ config, jobUri: `file://${secret}` });
  t.is(again.items[0]?.status, 'reused');
  t.is((await stat(again.jobJar!)).mode & 0o777, 0o600);
});

test('nothing to fetch or upload is an error naming pipeline.jars, as Flink refuses an application without a jar', async (t) => {
  const fetch = await runCli(['fetch', ...flinkArgs({ 'kubernetes.cluster-id': 'app', 'pipeline.jars': '' })]);
  t.is(fetch.code, 2);
  t.regex(fetch.stderr, /nothing to fetch: no job jar \(JOB_URI or pipeline\.jars\) and user\.artifacts\.artifact-list is empty/);
  t.regex(fetch.stderr, /The 'pipeline\.jars' config must contain one JAR\./);
  const upload = await runCli(['upload', ...flinkArgs({ 'kubernetes.artifacts.local-upload-target': 'file:///tmp/x/' })]);
  t.is(upload.code, 2);
  t.regex(upload.stderr, /nothing to upload/);
});

// Serial: it may try the managed-identity endpoint (stopped by the guard), which the
// concurrent metadata test must not see.
test.serial('Azure without a key, a SAS or an identity: an access error with the ways to give one, not retried; nothing left loopback', async (t) => {
  const azure = await useAzure();
  const blockedBefore = guard.blocked.length;
  // The chain's managed-identity probe: stopped by the guard, on purpose.
  guard.expect((entry) => entry.address === '169.254.169.254' && entry.host === '169.254.169.254');
  const noAzure: Record<string, string | undefined> = {};
  for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_') || name.startsWith('IDENTITY_') || name.startsWith('MSI_')) noAzure[name] = undefined;
  const saved = { ...process.env };
  for (const name of Object.keys(noAzure)) delete process.env[name];
  // The CLI credentials of the chain look for their tools on PATH: none here.
  process.env.PATH = '/nonexistent';
  t.teardown(() => {
    process.env.PATH = saved.PATH;
    Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([name]) => name in noAzure)));
  });
  const events: string[] = [];
  // Over https the chain is asked for a token and finds none (the endpoint is never reached).
  const error = await t.throwsAsync(
    fetchArtifacts({ config: await base({ 'flink-artifacts.azure.endpoint': `https://127.0.0.1:9/${azure.account}` }), jobUri: azure.uri('jars', 'job.jar'), onEvent: (e) => events.push(e.type) }),
    { instanceOf: FetchFailedError },
  );
  t.is(error.report.items[0]?.error?.code, 'ERR_ACCESS_DENIED', error.message);
  t.regex(error.message, /abfss:\/\/jars@devstoreaccount1\.dfs\.core\.windows\.net\/job\.jar: access denied by Azure \(no usable credentials\)/);
  t.false(events.includes('retry'), 'not retried');
  const picker = createDriverPicker({ azure: { settings: readAzureSettings(new Map([['flink-artifacts.azure.endpoint', `https://127.0.0.1:9/${azure.account}`]]), {}) } });
  t.teardown(() => picker.close());
  const ref = parseArtifactUri(azure.uri('jars', 'job.jar'));
  const denied = await t.throwsAsync((await picker.driverFor(ref.location)).stat(ref), { instanceOf: AccessDeniedError });
  t.regex(denied.hint ?? '', /fs\.azure\.account\.key.*SAS.*workload identity/);
  // Over http (Azurite) a token is never sent: the message says why and what to give instead.
  const plain = await t.throwsAsync(fetchArtifacts({ config: await base(azure.endpointOptions), jobUri: azure.uri('jars', 'job.jar'), onEvent: (e) => events.push(e.type) }), { instanceOf: FetchFailedError });
  t.is(plain.report.items[0]?.error?.code, 'ERR_ACCESS_DENIED', plain.message);
  t.regex(plain.message, /sent over https only: http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 is http/);
  t.false(events.includes('retry'), 'not retried');
  // The chain may ask the managed identity endpoint; the guard is what keeps that on this machine.
  t.true(guard.blocked.slice(blockedBefore).every((b) => b.address === '169.254.169.254'), JSON.stringify(guard.blocked.slice(blockedBefore)));
});

test('missing credentials are an access error with a hint, not retried: S3 (no credentials anywhere in the chain) and GCS', async (t) => {
  const s3 = await useS3();
  const empty = await tempDir();
  const noAws = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', HOME: empty, AWS_SHARED_CREDENTIALS_FILE: join(empty, 'none'), AWS_CONFIG_FILE: join(empty, 'none'), AWS_WEB_IDENTITY_TOKEN_FILE: '', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '', AWS_CONTAINER_CREDENTIALS_FULL_URI: '' };
  const result = await runCli(['fetch', 's3://bucket/x.jar', '--json', ...flinkArgs({ 'kubernetes.cluster-id': 'app', 'user.artifacts.base-dir': await tempDir(), 's3.endpoint': s3.endpoint })], { env: noAws });
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /s3:\/\/bucket\/x\.jar: no AWS credentials found/);
  t.notRegex(result.stderr, /^retry/m, 'not retried');
  t.is((JSON.parse(result.stdout) as { failed: { code: string }[] }).failed[0]?.code, 'ERR_ACCESS_DENIED');

  // GCS answers an anonymous caller with 401; the library sent the request without credentials.
  const gcs = await startGcsServer({ requireAuth: true });
  t.teardown(() => gcs.stop());
  gcs.createBucket('bkt');
  await gcs.putObject('bkt', 'x.jar', Buffer.from('x'));
  const events: string[] = [];
  const error = await t.throwsAsync(
    fetchArtifacts({ config: await base(), jobUri: 'gs://bkt/x.jar', storage: { gcs: { apiEndpoint: gcs.url, projectId: 'test', authenticate: true } }, onEvent: (e) => events.push(e.type) }),
    { instanceOf: FetchFailedError },
  );
  t.is(error.report.items[0]?.error?.code, 'ERR_ACCESS_DENIED');
  t.regex(error.message, /no usable GCS credentials|access denied by GCS \(401\)/);
  t.is(gcs.requests.filter((r) => r.path.includes('/o/')).length, 1, 'one request, not retried');
  t.false(events.includes('retry'), 'not retried');
});

test('messages: a failed fetch lists no path that was never written; a plain path may carry a #sha256 pin; a base dir with ".." is refused', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'ok.jar'), 'ok');
  const server = await startHttpServer({ root });
  t.teardown(() => server.stop());
  const config = await base({ 'user.artifacts.artifact-list': `${server.url}/ok.jar` });
  const failed = await runCli(['fetch', `${server.url}/missing.jar`, '--json', ...flinkArgs(Object.fromEntries(config))]);
  t.is(failed.code, 1);
  const report = JSON.parse(failed.stdout) as { jobJar: string | null; artifacts: string[] };
  t.is(report.jobJar, null, 'the job jar was never written');
  t.is(report.artifacts.length, 1, 'the artifact that arrived is listed');
  const human = await runCli(['fetch', `${server.url}/missing.jar`, ...flinkArgs(Object.fromEntries(config))]);
  t.notRegex(human.stdout, /job jar:/);

  const content = randomContent(1000);
  const jar = await writeFixture(join(await tempDir(), 'in-image.jar'), content);
  const pinned = parseArtifactUri(`${jar}#sha256=${sha256Hex(content)}`);
  t.is(pinned.fileName, 'in-image.jar');
  t.is(pinned.sha256, sha256Hex(content));
  const ok = await fetchArtifacts({ config: await base(), jobUri: `${jar}#sha256=${sha256Hex(content)}` });
  t.is(ok.items[0]?.status, 'local');
  await t.throwsAsync(fetchArtifacts({ config: await base(), jobUri: `${jar}#sha256=${'0'.repeat(64)}` }), { instanceOf: FetchFailedError });

  t.throws(() => readClusterLocation(new Map([['kubernetes.cluster-id', 'a'], ['user.artifacts.base-dir', '/opt/flink/../tmp']])), { code: 'ERR_CONFIG', message: /contains "\.\."/ });
});
