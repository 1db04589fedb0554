/**
 * `flink-artifacts upload` as users run it: a real process against Ceph RGW and file://, with
 * the paste-ready output, JSON, dry run, refusals and exit codes.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { flinkArgs, runCli } from '@flink-artifacts/test-helpers/cli';
import { tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const exec = promisify(execFile);

test('upload to S3 prints -D lines a shell takes as they are, and fetch accepts them', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('cliup');
  await s3.createBucket(bucket);
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'the job');
  await writeFixture(join(src, 'udf one.jar'), 'a udf');
  const args = [
    'upload',
    `local://${src}/job.jar`,
    ...flinkArgs({ ...s3.flinkOptions, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/flink/` }),
    `-Duser.artifacts.artifact-list=${src}/udf one.jar;s3://elsewhere/lib.jar`,
  ];
  const result = await runCli(args);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /^uploaded +local:\/\/.*job\.jar -> s3:\/\/.*\/flink\/job\.jar/m);
  t.regex(result.stderr, /^passed +s3:\/\/elsewhere\/lib\.jar/m);
  t.regex(result.stderr, /2 uploaded .*, 0 skipped, 1 not local/);
  t.false(result.stdout.includes(s3.secretKey) || result.stderr.includes(s3.secretKey));

  // What a shell makes of the output is exactly the options to pass on.
  const { stdout: parsed } = await exec('bash', ['-c', `eval "set -- $1"; printf '%s\\n' "$@"`, '_', result.stdout.split('\n').join(' ')]);
  t.deepEqual(parsed.trim().split('\n'), [
    `-Dpipeline.jars=s3://${bucket}/flink/job.jar`,
    `-Duser.artifacts.artifact-list=s3://${bucket}/flink/udf%20one.jar;s3://elsewhere/lib.jar`,
  ]);

  const again = await runCli([...args, '--json']);
  t.is(again.code, 0, again.stderr);
  const report = JSON.parse(again.stdout) as Record<string, unknown>;
  t.like(report, {
    jobUri: `s3://${bucket}/flink/job.jar`,
    artifactList: [`s3://${bucket}/flink/udf%20one.jar`, 's3://elsewhere/lib.jar'],
    uploaded: 0,
    skipped: 2,
    passed: 1,
    bytes: 0,
    failed: [],
  });
  t.deepEqual((report.items as { uri: string; status: string }[]).map((item) => [item.uri, item.status]), [
    [`s3://${bucket}/flink/job.jar`, 'skipped'],
    [`s3://${bucket}/flink/udf%20one.jar`, 'skipped'],
    ['s3://elsewhere/lib.jar', 'passed'],
  ]);

  const base = await tempDir();
  const fetched = await runCli([
    'fetch',
    ...flinkArgs({ ...s3.flinkOptions, 'kubernetes.cluster-id': 'from-upload', 'user.artifacts.base-dir': base }),
    ...parsed.trim().split('\n').slice(0, 1),
  ]);
  t.is(fetched.code, 0, fetched.stderr);
  t.is(await readFile(join(base, 'default', 'from-upload', 'job.jar'), 'utf8'), 'the job');
});

test('dry run writes nothing; a refusal exits 1 and names the overwrite key; --json carries the failure', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'v1');
  const target = join(await tempDir(), 'target');
  const common = [`-Dkubernetes.artifacts.local-upload-target=file://${target}/`];
  const dry = await runCli(['upload', `${src}/job.jar`, ...common, '--dry-run']);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stderr, /^would-upload .*job\.jar/m);
  t.regex(dry.stderr, /dry run: 1 would be uploaded/);
  await t.throwsAsync(stat(target), { code: 'ENOENT' });

  t.is((await runCli(['upload', `${src}/job.jar`, ...common])).code, 0);
  await writeFixture(join(src, 'job.jar'), 'v2 differs');
  const refused = await runCli(['upload', `${src}/job.jar`, ...common, '--json']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /exists with different content/);
  t.regex(refused.stderr, /kubernetes\.artifacts\.local-upload-overwrite=true/);
  const report = JSON.parse(refused.stdout) as { failed: { code: string }[] };
  t.is(report.failed[0]?.code, 'ERR_TARGET_EXISTS');
  t.is(await readFile(join(target, 'job.jar'), 'utf8'), 'v1');

  const forced = await runCli(['upload', `${src}/job.jar`, ...common, '-Dkubernetes.artifacts.local-upload-overwrite=true']);
  t.is(forced.code, 0, forced.stderr);
  t.is(await readFile(join(target, 'job.jar'), 'utf8'), 'v2 differs');
});

test('usage and configuration errors exit 2 and name the key', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const missing = await runCli(['upload', `local://${src}/job.jar`]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /kubernetes\.artifacts\.local-upload-target is not set/);
  const bad = await runCli(['upload', `local://${src}/job.jar`, '-Dkubernetes.artifacts.local-upload-target=ftp://host/dir/']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /kubernetes\.artifacts\.local-upload-target ftp:\/\/host\/dir\/ has an unsupported scheme "ftp"/);
  const flag = await runCli(['upload', `local://${src}/job.jar`, '-Dkubernetes.artifacts.local-upload-target=file:///tmp/x/', '-Dkubernetes.artifacts.local-upload-overwrite=maybe']);
  t.is(flag.code, 2);
  t.regex(flag.stderr, /kubernetes\.artifacts\.local-upload-overwrite must be true or false/);
});
