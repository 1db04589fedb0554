/**
 * Azure Blob Storage (on Azurite) and OSS (through its S3-compatible API, on Ceph RGW) as users
 * reach them: `fetch`, `upload` and `render` through the CLI, with Flink's URI forms and keys.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import type { renderPodTemplate } from '@flink-artifacts/deploy';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { flinkArgs, runCli } from '@flink-artifacts/test-helpers/cli';
import { randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

type IPod = ReturnType<typeof renderPodTemplate>['manifest'];

test('fetch from Azure: abfss:// and wasbs:// forms, the account key from Flink\'s key, the JSON report; then reused', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('cli');
  await azure.createContainer(container);
  const job = randomContent(3_000_000);
  await azure.put(container, 'jobs/job.jar', job);
  await azure.put(container, 'lib/udf.jar', 'udf');
  const base = await tempDir();
  const args = [
    'fetch',
    azure.uri(container, 'jobs/job.jar', 'abfss'),
    ...flinkArgs({ ...azure.flinkOptions, 'kubernetes.cluster-id': 'az-app', 'user.artifacts.base-dir': base }),
    `-Duser.artifacts.artifact-list=${azure.uri(container, 'lib/udf.jar', 'wasbs')}`,
  ];
  const result = await runCli([...args, '--json']);
  t.is(result.code, 0, result.stderr);
  const dir = join(base, 'default', 'az-app');
  t.like(JSON.parse(result.stdout), { jobJar: join(dir, 'job.jar'), artifacts: [join(dir, 'udf.jar')], fetched: 2, reused: 0, bytes: job.length + 3 });
  t.is(sha256Hex(await readFile(join(dir, 'job.jar'))), sha256Hex(job));
  t.is(await readFile(join(dir, 'udf.jar'), 'utf8'), 'udf');
  t.regex(result.stderr, /^fetched +abfss:\/\/.*@devstoreaccount1\.dfs\.core\.windows\.net\/jobs\/job\.jar -> /m);
  t.false(result.stdout.includes(azure.accountKey) || result.stderr.includes(azure.accountKey));

  const again = await runCli(args);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /0 fetched .*, 2 reused/);
});

test('fetch from Azure: a blob whose stored Content-MD5 does not match its bytes is refused, nothing saved', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('md5');
  await azure.createContainer(container);
  await azure.put(container, 'job.jar', 'the real bytes');
  // The service states an MD5 of other bytes: what a corrupted store or a swapped blob looks like.
  await azure.service.getContainerClient(container).getBlobClient('job.jar').setHTTPHeaders({ blobContentMD5: new Uint8Array(Buffer.from('0123456789abcdef')) });
  const base = await tempDir();
  const result = await runCli(['fetch', azure.uri(container, 'job.jar'), ...flinkArgs({ ...azure.flinkOptions, 'kubernetes.cluster-id': 'md5', 'user.artifacts.base-dir': base })]);
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /job\.jar.*(checksum|md5)/i);
  await t.throwsAsync(readFile(join(base, 'default', 'md5', 'job.jar')));
});

test('fetch from Azure: errors name the URI and never the key: a missing blob, a missing container, a wrong key, a malformed URI', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('err');
  await azure.createContainer(container);
  await azure.put(container, 'job.jar', 'x');
  const base = await tempDir();
  const options = (extra: Record<string, string> = {}) => flinkArgs({ ...azure.flinkOptions, 'kubernetes.cluster-id': 'err', 'user.artifacts.base-dir': base, ...extra });
  const missing = await runCli(['fetch', azure.uri(container, 'nope.jar'), ...options()]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, new RegExp(`abfss://${container}@devstoreaccount1\\.dfs\\.core\\.windows\\.net/nope\\.jar: blob does not exist`));
  const noContainer = await runCli(['fetch', azure.uri('no-such-container', 'job.jar'), ...options()]);
  t.is(noContainer.code, 1);
  t.regex(noContainer.stderr, /no-such-container@.*container does not exist/);
  const wrongKey = Buffer.alloc(64, 3).toString('base64');
  const denied = await runCli(['fetch', azure.uri(container, 'job.jar'), ...options({ [`fs.azure.account.key.${azure.account}.dfs.core.windows.net`]: wrongKey })]);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /access denied by Azure/);
  t.false(denied.stderr.includes(wrongKey) || denied.stdout.includes(wrongKey));
  const malformed = await runCli(['fetch', `abfss://${azure.account}.dfs.core.windows.net/job.jar`, ...options()]);
  t.is(malformed.code, 2);
  t.regex(malformed.stderr, /missing container in abfss:\/\/devstoreaccount1\.dfs\.core\.windows\.net\/job\.jar/);
  t.regex(malformed.stderr, /abfss:\/\/<container>@<account>\.dfs\.core\.windows\.net/);
});

test('upload to an abfss:// target: uploaded with our SHA-256, skipped when identical, refused when different, replaced on overwrite; fetch takes the output', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('up');
  await azure.createContainer(container);
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'the job');
  await writeFixture(join(src, 'udf.jar'), 'a udf');
  const target = azure.uri(container, 'flink/');
  const args = ['upload', `local://${src}/job.jar`, ...flinkArgs({ ...azure.flinkOptions, 'kubernetes.artifacts.local-upload-target': target }), `-Duser.artifacts.artifact-list=${src}/udf.jar`];
  const first = await runCli([...args, '--json']);
  t.is(first.code, 0, first.stderr);
  t.like(JSON.parse(first.stdout), { jobUri: `${target}job.jar`, artifactList: [`${target}udf.jar`], uploaded: 2, skipped: 0, failed: [] });
  const properties = await azure.service.getContainerClient(container).getBlobClient('flink/job.jar').getProperties();
  t.is(properties.metadata?.sha256, sha256Hex('the job'));
  t.is(properties.contentType, 'application/java-archive');

  const again = await runCli(args);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /0 uploaded .*, 2 skipped/);

  await writeFixture(join(src, 'job.jar'), 'a new job');
  const refused = await runCli(args);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /job\.jar.*kubernetes\.artifacts\.local-upload-overwrite/s);
  t.is((await azure.service.getContainerClient(container).getBlobClient('flink/job.jar').downloadToBuffer()).toString(), 'the job');
  const replaced = await runCli([...args, '-Dkubernetes.artifacts.local-upload-overwrite=true']);
  t.is(replaced.code, 0, replaced.stderr);
  t.is((await azure.service.getContainerClient(container).getBlobClient('flink/job.jar').downloadToBuffer()).toString(), 'a new job');

  const base = await tempDir();
  const fetched = await runCli(['fetch', ...flinkArgs({ ...azure.flinkOptions, 'kubernetes.cluster-id': 'up', 'user.artifacts.base-dir': base }), ...replaced.stdout.trim().split('\n').map((line) => line.replace(/^'|'$/g, ''))]);
  t.is(fetched.code, 0, fetched.stderr);
  t.is(await readFile(join(base, 'default', 'up', 'job.jar'), 'utf8'), 'a new job');
  t.is(await readFile(join(base, 'default', 'up', 'udf.jar'), 'utf8'), 'a udf');
});

test('oss://: upload and fetch with Flink\'s fs.oss.* keys (Ceph RGW standing in for OSS\'s S3-compatible API)', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('oss');
  await s3.createBucket(bucket);
  const oss = { 'fs.oss.endpoint': s3.endpoint, 'fs.oss.accessKeyId': s3.accessKey, 'fs.oss.accessKeySecret': s3.secretKey };
  const src = await tempDir();
  const content = randomContent(200_000);
  await writeFixture(join(src, 'job.jar'), content);
  const uploaded = await runCli(['upload', `${src}/job.jar`, ...flinkArgs({ ...oss, 'kubernetes.artifacts.local-upload-target': `oss://${bucket}/flink/` }), '--json']);
  t.is(uploaded.code, 0, uploaded.stderr);
  t.like(JSON.parse(uploaded.stdout), { jobUri: `oss://${bucket}/flink/job.jar`, uploaded: 1 });
  const base = await tempDir();
  const fetched = await runCli(['fetch', `oss://${bucket}/flink/job.jar`, ...flinkArgs({ ...oss, 'kubernetes.cluster-id': 'oss', 'user.artifacts.base-dir': base })]);
  t.is(fetched.code, 0, fetched.stderr);
  t.is(sha256Hex(await readFile(join(base, 'default', 'oss', 'job.jar'))), sha256Hex(content));
  t.false(`${uploaded.stdout}${uploaded.stderr}${fetched.stdout}${fetched.stderr}`.includes(s3.secretKey));

  // Without fs.oss.endpoint the AWS SDK would send the request, signed, to AWS: refused first.
  const noEndpoint = await runCli(['fetch', `oss://${bucket}/flink/job.jar`, ...flinkArgs({ 'fs.oss.accessKeyId': 'AK', 'fs.oss.accessKeySecret': 'SK', 'kubernetes.cluster-id': 'oss2', 'user.artifacts.base-dir': base })]);
  t.not(noEndpoint.code, 0);
  t.regex(noEndpoint.stderr, /fs\.oss\.endpoint/);
});

test('render with an abfss:// jar: the init container gets the URI and the endpoint, the key only from a Secret; literal keys are warned about', async (t) => {
  const IMAGE = 'registry.example.com/flink-artifacts-fetcher:0.1.0';
  const key = 'YXp1cmUta2V5LW1hcmtlci0xMjM0NTY3ODkw';
  const jar = 'abfss://jars@myacct.dfs.core.windows.net/flink/job.jar';
  const withSecret = await runCli([
    'render',
    '-Dkubernetes.cluster-id=az',
    '--fetcher-image',
    IMAGE,
    '-Dflink-artifacts.azure.endpoint=https://myacct.privatelink.blob.core.windows.net',
    '-Dfs.oss.endpoint=oss-cn-hangzhou.aliyuncs.com',
    "-Dkubernetes.env.secretKeyRef=env:AZURE_STORAGE_KEY,secret:azure-storage,key:account-key",
    `-Duser.artifacts.artifact-list=oss://bkt/udf.jar`,
    jar,
  ]);
  t.is(withSecret.code, 0, withSecret.stderr);
  const pod = parse(withSecret.stdout) as IPod;
  const fetcher = pod.spec!.initContainers!.find((c) => c.name === 'artifacts-fetcher')!;
  t.true(fetcher.args!.includes(jar), JSON.stringify(fetcher.args));
  t.true(fetcher.args!.includes('-Dflink-artifacts.azure.endpoint=https://myacct.privatelink.blob.core.windows.net'));
  t.true(fetcher.args!.includes('-Dfs.oss.endpoint=oss-cn-hangzhou.aliyuncs.com'));
  t.deepEqual(fetcher.env?.find((e) => e.name === 'AZURE_STORAGE_KEY'), { name: 'AZURE_STORAGE_KEY', valueFrom: { secretKeyRef: { name: 'azure-storage', key: 'account-key' } } });
  // Flink is given the fetched file.
  t.regex(withSecret.stderr, / local:\/\/\/opt\/flink\/artifacts\/default\/az\/job\.jar/);

  const literal = await runCli(['render', '-Dkubernetes.cluster-id=az', '--fetcher-image', IMAGE, `-Dfs.azure.account.key.myacct.dfs.core.windows.net=${key}`, '-Dfs.oss.accessKeySecret=oss-marker', '-Dfs.oss.accessKeyId=AK', jar]);
  t.is(literal.code, 0, literal.stderr);
  const literalPod = parse(literal.stdout) as IPod;
  t.false(JSON.stringify(literalPod.spec!.initContainers).includes(key), 'never in the init container');
  t.false(literal.stderr.includes(key));
  t.regex(literal.stderr, /fs\.azure\.account\.key\.myacct\.dfs\.core\.windows\.net.*given as literal values/s);
  t.regex(literal.stderr, /env:AZURE_STORAGE_KEY,secret:<name>,key:<key>/);
  t.regex(literal.stderr, /workload identity/);
  t.regex(literal.stderr, /env:OSS_ACCESS_KEY_ID/);
});
