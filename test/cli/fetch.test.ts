/**
 * `flink-artifacts fetch` as users run it: the built command in a real process, against the
 * real servers, with exit codes, stdout/stderr, signals and the files left on disk.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { flinkArgs, runCli, startCli } from '@flink-artifacts/test-helpers/cli';
import { listFiles, randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';

test('fetch from S3 with -D options prints the documented JSON report', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('cli');
  await s3.createBucket(bucket);
  const job = randomContent(1_000_000);
  await s3.put(bucket, 'job.jar', job);
  await s3.put(bucket, 'udf.jar', 'udf');
  const base = await tempDir();
  const result = await runCli([
    'fetch',
    `s3://${bucket}/job.jar`,
    ...flinkArgs({ ...s3.flinkOptions, 'kubernetes.cluster-id': 'cli-app', 'user.artifacts.base-dir': base }),
    '-D',
    `user.artifacts.artifact-list=s3p://${bucket}/udf.jar`,
    '--json',
  ]);
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Record<string, unknown>;
  const dir = join(base, 'default', 'cli-app');
  t.like(report, { jobJar: join(dir, 'job.jar'), artifacts: [join(dir, 'udf.jar')], fetched: 2, reused: 0, bytes: job.length + 3 });
  t.is(sha256Hex(await readFile(join(dir, 'job.jar'))), sha256Hex(job));
  // Not a TTY: one log line per artifact on stderr, for init container logs.
  t.regex(result.stderr, /^fetched +s3:\/\/.*job\.jar -> .*job\.jar/m);
  t.regex(result.stderr, /^fetched +s3p:\/\/.*udf\.jar/m);
  t.false(result.stdout.includes(s3.secretKey) || result.stderr.includes(s3.secretKey));

  const again = await runCli([
    'fetch',
    `s3://${bucket}/job.jar`,
    ...flinkArgs({ ...s3.flinkOptions, 'kubernetes.cluster-id': 'cli-app', 'user.artifacts.base-dir': base }),
  ]);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 fetched .*, 1 reused/);
  t.regex(again.stderr, /^reused +s3:\/\//m);
});

test('config.yaml in --conf-dir supplies options and pipeline.jars; -D wins; FLINK_CONF_DIR works too', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'from pipeline.jars');
  const base = await tempDir();
  const conf = await tempDir();
  await writeFixture(
    join(conf, 'config.yaml'),
    ['kubernetes:', '  cluster-id: from-file', '  namespace: file-ns', 'user.artifacts.base-dir: ' + base, 'pipeline:', `  jars: [ "file://${src}/job.jar" ]`].join('\n'),
  );
  const result = await runCli(['fetch', '--conf-dir', conf, '-Dkubernetes.namespace=cli-ns', '--json']);
  t.is(result.code, 0, result.stderr);
  t.is((JSON.parse(result.stdout) as { jobJar: string }).jobJar, join(base, 'cli-ns', 'from-file', 'job.jar'));

  const viaEnv = await runCli(['fetch', '--json'], { env: { FLINK_CONF_DIR: conf } });
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.is((JSON.parse(viaEnv.stdout) as { jobJar: string }).jobJar, join(base, 'file-ns', 'from-file', 'job.jar'));
});

test('legacy flink-conf.yaml is read', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const base = await tempDir();
  const conf = await tempDir();
  await writeFixture(join(conf, 'flink-conf.yaml'), `kubernetes.cluster-id: legacy-app\nuser.artifacts.base-dir: ${base}\n`);
  const result = await runCli(['fetch', `file://${src}/job.jar`, '--conf-dir', conf, '--json']);
  t.is(result.code, 0, result.stderr);
  t.is((JSON.parse(result.stdout) as { jobJar: string }).jobJar, join(base, 'default', 'legacy-app', 'job.jar'));
});

test('GCS through STORAGE_EMULATOR_HOST, HTTPS through NODE_EXTRA_CA_CERTS', async (t) => {
  const gcs = await startGcsServer();
  gcs.createBucket('jobs');
  await gcs.putObject('jobs', 'job.jar', Buffer.from('gcs job'));
  const root = await tempDir();
  await writeFixture(join(root, 'udf.jar'), 'https udf');
  const tls = await createTestCertificate();
  const https = await startHttpServer({ root, tls });
  t.teardown(async () => {
    await gcs.stop();
    await https.stop();
  });
  const base = await tempDir();
  const result = await runCli(
    ['fetch', 'gs://jobs/job.jar', `-Duser.artifacts.artifact-list=${https.url}/udf.jar`, '-Dkubernetes.cluster-id=mixed', `-Duser.artifacts.base-dir=${base}`, '--json'],
    { env: { STORAGE_EMULATOR_HOST: gcs.url, NODE_EXTRA_CA_CERTS: tls.certPath, GOOGLE_CLOUD_PROJECT: 'test' } },
  );
  t.is(result.code, 0, result.stderr);
  t.is(await readFile(join(base, 'default', 'mixed', 'job.jar'), 'utf8'), 'gcs job');
  t.is(await readFile(join(base, 'default', 'mixed', 'udf.jar'), 'utf8'), 'https udf');
});

test('SIGTERM mid-transfer: exit 143, temporary file removed, nothing under the final name', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), randomContent(4_000_000));
  const server = await startHttpServer({ root, bytesPerSecond: 500_000 });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const run = startCli(['fetch', `${server.url}/big.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`, '-Duser.artifacts.raw-http-enabled=true']);
  const dir = join(base, 'default', 'app');
  await waitFor(async () => (await listFiles(dir)).some((f) => f.endsWith('.part')));
  run.child.kill('SIGTERM');
  const result = await run.result;
  t.is(result.code, 143, result.stderr);
  t.deepEqual(await listFiles(dir), []);
});

test('SIGKILL mid-transfer leaves no final file; the next run sweeps the leftover and completes', async (t) => {
  const root = await tempDir();
  const content = randomContent(3_000_000);
  await writeFixture(join(root, 'big.jar'), content);
  const slow = await startHttpServer({ root, bytesPerSecond: 500_000 });
  const fast = await startHttpServer({ root });
  t.teardown(async () => {
    await slow.stop();
    await fast.stop();
  });
  const base = await tempDir();
  const args = (url: string) => ['fetch', `${url}/big.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`, '-Duser.artifacts.raw-http-enabled=true'];
  const dir = join(base, 'default', 'app');
  const run = startCli(args(slow.url));
  await waitFor(async () => (await listFiles(dir)).some((f) => f.endsWith('.part')));
  run.child.kill('SIGKILL');
  await run.result;
  await t.throwsAsync(stat(join(dir, 'big.jar')), { code: 'ENOENT' });
  t.true((await listFiles(dir)).some((f) => f.endsWith('.part')), 'SIGKILL cannot clean up: a leftover is expected');

  const again = await runCli(args(fast.url));
  t.is(again.code, 0, again.stderr);
  t.is(sha256Hex(await readFile(join(dir, 'big.jar'))), sha256Hex(content));
  t.false((await listFiles(dir)).some((f) => f.endsWith('.part')));
});

test('errors: each names its input, exits 2 for usage/config and 1 for runtime, and writes nothing', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('err');
  await s3.createBucket(bucket);
  await s3.put(bucket, 'a.jar', 'a');
  const root = await tempDir();
  await writeFixture(join(root, 'x.jar'), 'x');
  const server = await startHttpServer({ root });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const common = ['-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`];
  const cases: { args: string[]; code: number; pattern: RegExp; name: string }[] = [
    { name: 'missing cluster id', args: ['fetch', 's3://b/x.jar'], code: 2, pattern: /kubernetes\.cluster-id is required/ },
    { name: 'unknown scheme', args: ['fetch', 'ftp://h/x.jar', ...common], code: 2, pattern: /unsupported scheme "ftp" in ftp:\/\/h\/x\.jar/ },
    { name: 'malformed URI', args: ['fetch', 'https://exa mple.com/x.jar', ...common], code: 2, pattern: /malformed URI: https:\/\/exa mple\.com\/x\.jar/ },
    { name: 'relative path', args: ['fetch', 'job.jar', ...common], code: 2, pattern: /not an absolute URI: job\.jar/ },
    { name: 'bad header syntax', args: ['fetch', 'https://h/x.jar', ...common, '-Duser.artifacts.http-headers=NoColonHere'], code: 2, pattern: /user\.artifacts\.http-headers/ },
    { name: 'raw http refused', args: ['fetch', `${server.url}/x.jar`, ...common], code: 2, pattern: /user\.artifacts\.raw-http-enabled/ },
    { name: 'name clash', args: ['fetch', 's3://b/one/x.jar', ...common, '-Duser.artifacts.artifact-list=s3://b/two/x.jar'], code: 2, pattern: /s3:\/\/b\/one\/x\.jar and s3:\/\/b\/two\/x\.jar/ },
    { name: 'traversal', args: ['fetch', 'https://h/a/%2e%2e/x.jar', ...common], code: 2, pattern: /"\.\." path segment/ },
    { name: 'empty list entry', args: ['fetch', ...common, '-Duser.artifacts.artifact-list=s3://b/a.jar;;s3://b/c.jar'], code: 2, pattern: /entry 2 of user\.artifacts\.artifact-list is empty/ },
    { name: 'bad concurrency', args: ['fetch', 's3://b/x.jar', ...common, '--concurrency', '0'], code: 2, pattern: /--concurrency/ },
    { name: 'unknown option', args: ['fetch', 's3://b/x.jar', ...common, '--no-such-flag'], code: 2, pattern: /Unknown argument/ },
    { name: 'missing conf dir', args: ['fetch', ...common, '--conf-dir', '/no/such/dir'], code: 2, pattern: /\/no\/such\/dir/ },
    {
      name: 'missing object',
      args: ['fetch', `s3://${bucket}/missing.jar`, ...common, ...flinkArgs(s3.flinkOptions)],
      code: 1,
      pattern: new RegExp(`s3://${bucket}/missing\\.jar: object does not exist`),
    },
    {
      name: 'missing bucket',
      args: ['fetch', `s3://${bucket}-nope/a.jar`, ...common, ...flinkArgs(s3.flinkOptions)],
      code: 1,
      pattern: /bucket does not exist/,
    },
    {
      name: 'bad credentials',
      args: ['fetch', `s3://${bucket}/a.jar`, ...common, ...flinkArgs({ ...s3.flinkOptions, 's3.secret-key': 'TOTALLY-WRONG-SECRET' })],
      code: 1,
      pattern: /access denied/,
    },
  ];
  for (const c of cases) {
    const result = await runCli(c.args);
    t.is(result.code, c.code, `${c.name}: ${result.stderr}`);
    t.regex(result.stderr, c.pattern, c.name);
    t.false(result.stderr.includes('TOTALLY-WRONG-SECRET') || result.stdout.includes('TOTALLY-WRONG-SECRET'), c.name);
  }
  const left = await listFiles(base);
  t.deepEqual(left.filter((f) => !f.includes('.flink-artifacts/')), [], 'no artifact written by any failing case');
});

test('signed query strings and header values never reach the output', async (t) => {
  const root = await tempDir();
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls, requiredHeaders: { authorization: 'Bearer right' } });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const result = await runCli(
    [
      'fetch',
      `${server.url}/gone.jar?X-Amz-Credential=AKIASECRETCRED&X-Amz-Signature=deadbeefsignature`,
      '-Dkubernetes.cluster-id=app',
      `-Duser.artifacts.base-dir=${base}`,
      '-Duser.artifacts.http-headers=Authorization:Bearer wrong-but-secret-token',
      '--json',
    ],
    { env: { NODE_EXTRA_CA_CERTS: tls.certPath } },
  );
  t.is(result.code, 1);
  const output = result.stdout + result.stderr;
  t.regex(output, /gone\.jar\?X-Amz-Credential=\*\*\*&X-Amz-Signature=\*\*\*/);
  for (const secret of ['AKIASECRETCRED', 'deadbeefsignature', 'wrong-but-secret-token']) t.false(output.includes(secret), secret);
  const report = JSON.parse(result.stdout) as { failed: { code: string }[] };
  t.is(report.failed[0]?.code, 'ERR_ACCESS_DENIED');
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached in time');
}

test('HTTP headers can come from FLINK_ARTIFACTS_HTTP_HEADERS (a Secret in the pod) and are never printed', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'guarded');
  const tls = await createTestCertificate();
  const server = await startHttpServer({ root, tls, requiredHeaders: { authorization: 'Bearer from-a-secret', 'x-team': 'data' } });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const result = await runCli(
    ['fetch', `${server.url}/job.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`, '-Duser.artifacts.http-headers=X-Team:data', '--json'],
    { env: { NODE_EXTRA_CA_CERTS: tls.certPath, FLINK_ARTIFACTS_HTTP_HEADERS: 'Authorization:Bearer from-a-secret' } },
  );
  t.is(result.code, 0, result.stderr);
  t.is(await readFile(join(base, 'default', 'app', 'job.jar'), 'utf8'), 'guarded');
  t.false((result.stdout + result.stderr).includes('from-a-secret'));

  const malformed = await runCli(['fetch', `${server.url}/job.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`], {
    env: { NODE_EXTRA_CA_CERTS: tls.certPath, FLINK_ARTIFACTS_HTTP_HEADERS: 'no colon secret-value' },
  });
  t.is(malformed.code, 2);
  t.regex(malformed.stderr, /FLINK_ARTIFACTS_HTTP_HEADERS/);
  t.false(malformed.stderr.includes('secret-value'));
});
