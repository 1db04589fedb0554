/**
 * What `fetch` and `upload` print, as scripts read it: one JSON document on stdout in --json
 * mode whatever goes wrong, usage errors included; one report vocabulary for both commands, also
 * after a partial failure; and a warning for a misspelled key instead of silence.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '@flink-artifacts/test-helpers/cli';
import { tempDir, writeFixture } from '@flink-artifacts/test-helpers/fixtures';

test('--json: usage errors are one JSON document on stdout too (unknown option, missing value, bad -D), exit 2', async (t) => {
  for (const command of ['fetch', 'upload']) {
    for (const args of [['--bogus'], ['--concurrency'], ['-Dno-equals-sign'], ['--concurrency', 'many']]) {
      const result = await runCli([command, 'file:///tmp/x.jar', ...args, '--json']);
      t.is(result.code, 2, `${command} ${args.join(' ')}: ${result.stderr}`);
      const lines = result.stdout.trim().split('\n');
      t.is(lines.length, 1, `${command} ${args.join(' ')}: one document: ${result.stdout}`);
      const document = JSON.parse(lines[0]!) as { error?: { code?: string; message?: string } };
      t.regex(document.error?.code ?? '', /^ERR_(USAGE|CONFIG)$/, `${command} ${args.join(' ')}`);
      t.truthy(document.error?.message);
    }
  }
  // Without --json, stdout stays empty: the help and the error go to stderr.
  const plain = await runCli(['fetch', '--bogus']);
  t.is(plain.code, 2);
  t.is(plain.stdout, '');
  t.regex(plain.stderr, /Unknown argument: bogus/);
});

test('fetch and upload reports share one vocabulary; after a partial failure they list only what exists, failures under failed', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'src', 'job.jar'), 'the job');
  const base = join(root, 'out');
  const fetched = await runCli([
    'fetch',
    `file://${root}/src/job.jar`,
    '-Dkubernetes.cluster-id=rep',
    `-Duser.artifacts.base-dir=${base}`,
    `-Duser.artifacts.artifact-list=file://${root}/src/missing.jar;local://${root}/src/job.jar`,
    '--json',
  ]);
  t.is(fetched.code, 1, fetched.stderr);
  const fetchReport = JSON.parse(fetched.stdout) as Record<string, unknown>;
  const dir = join(base, 'default', 'rep');
  t.like(fetchReport, { jobJar: join(dir, 'job.jar'), fetched: 1, reused: 0, local: 1, targetDir: dir });
  t.deepEqual(fetchReport.artifacts, [join(root, 'src', 'job.jar')], 'the missing artifact is not listed as in place');
  t.deepEqual(
    (fetchReport.failed as { uri: string; code: string }[]).map((f) => [f.uri, f.code]),
    [[`file://${root}/src/missing.jar`, 'ERR_ARTIFACT_NOT_FOUND']],
  );
  t.deepEqual((fetchReport.items as { status: string }[]).map((i) => i.status), ['fetched', 'failed', 'local']);
  t.is(await readFile(join(dir, 'job.jar'), 'utf8'), 'the job');

  const human = await runCli(['fetch', `file://${root}/src/job.jar`, '-Dkubernetes.cluster-id=rep2', `-Duser.artifacts.base-dir=${base}`, `-Duser.artifacts.artifact-list=file://${root}/src/missing.jar`]);
  t.is(human.code, 1);
  t.notRegex(human.stdout, /artifact: .*missing\.jar/, 'the summary lists no file that was never written');

  const target = join(root, 'store');
  await writeFixture(join(target, 'udf.jar'), 'other content');
  await writeFixture(join(root, 'src', 'udf.jar'), 'a udf');
  const uploaded = await runCli(['upload', `${root}/src/job.jar`, `-Dkubernetes.artifacts.local-upload-target=file://${target}/`, `-Duser.artifacts.artifact-list=${root}/src/udf.jar;https://repo.example.com/lib.jar`, '--json']);
  t.is(uploaded.code, 1, uploaded.stderr);
  const uploadReport = JSON.parse(uploaded.stdout) as Record<string, unknown>;
  t.like(uploadReport, { uploaded: 1, skipped: 0, passed: 1, dryRun: false });
  t.deepEqual(
    (uploadReport.failed as { uri: string; source: string; code: string }[]).map((f) => [f.uri, f.source, f.code]),
    [[`file://${target}/udf.jar`, `${root}/src/udf.jar`, 'ERR_TARGET_EXISTS']],
  );
  t.deepEqual((uploadReport.items as { status: string }[]).map((i) => i.status), ['uploaded', 'failed', 'passed']);
  t.deepEqual(uploadReport.artifactList, ['https://repo.example.com/lib.jar'], 'a URI that names nothing of ours is not listed');
  t.is(uploadReport.jobUri, `file://${target}/job.jar`);
  // The same keys where the commands mean the same: counts, bytes, failed, items.
  for (const report of [fetchReport, uploadReport]) {
    t.is(typeof report.bytes, 'number');
    t.true(Array.isArray(report.failed));
    t.true(Array.isArray(report.items));
  }
});

test('a misspelled key in our namespace or in Flink\'s artifact keys is warned about, with the nearest known key', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'job.jar'), 'x');
  const result = await runCli([
    'fetch',
    `file://${root}/job.jar`,
    '-Dkubernetes.cluster-id=typo',
    `-Duser.artifacts.base-dir=${root}/out`,
    '-Dflink-artifacts.retry.max-attemps=3',
    '-Duser.artifacts.raw-http-enable=true',
    '-Dkubernetes.artifacts.local-upload-targt=s3://b/',
    '-Dflink-artifacts.fetcher.image=registry.example.com/f:1',
    '-Dsome.other.key=whatever',
  ]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /warning: flink-artifacts\.retry\.max-attemps is not an option flink-artifacts defines; it is ignored \(did you mean flink-artifacts\.retry\.max-attempts\?\)/);
  t.regex(result.stderr, /warning: user\.artifacts\.raw-http-enable is not an option Flink defines; it is ignored \(did you mean user\.artifacts\.raw-http-enabled\?\)/);
  t.regex(result.stderr, /did you mean kubernetes\.artifacts\.local-upload-target\?/);
  t.notRegex(result.stderr, /fetcher\.image is not an option/, 'a deploy key is a known key everywhere');
  t.notRegex(result.stderr, /some\.other\.key/, 'keys of other namespaces are Flink\'s business');
});
