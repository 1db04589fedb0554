/**
 * `flink-artifacts run-application` as Flink users run it: a stand-in `bin/flink` in a
 * `$FLINK_HOME` laid out as Flink 1.19, 1.20 and 2.x (lib/flink-dist-<v>.jar, conf/config.yaml or
 * conf/flink-conf.yaml) records the exact argv and the pod template it receives; uploads and the
 * existence check talk to the real S3 server.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { checkPodStrict, type renderPodTemplate } from '@flink-artifacts/deploy';
import { runCli } from '@flink-artifacts/test-helpers/cli';
import { tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { fakeFlinkHome } from '@flink-artifacts/test-helpers/flink-home';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

type IPod = ReturnType<typeof renderPodTemplate>['manifest'];

const IMAGE = 'registry.example.com/flink-artifacts-fetcher:0.1.0';
const fetcherOf = (pod: IPod) => pod.spec!.initContainers!.find((c) => c.name === 'artifacts-fetcher')!;
const option = (argv: string[], key: string): string | undefined => argv.find((a) => a.startsWith(`-D${key}=`))?.slice(key.length + 3);

test('Flink 1.19: run-application --target kubernetes-application; Flink\'s run options and the program\'s arguments reach bin/flink exactly', async (t) => {
  const flink = await fakeFlinkHome({ version: '1.19.1' });
  const result = await runCli(
    ['run-application', '-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE, '--no-check', '-c', 'com.example.Job', '-p', '3', '-s', 's3://b/savepoints/sp-1', '-n', '-d', 's3://b/j.jar', '--input', 's3://in', 'extra', '-p', '9'],
    { env: { FLINK_HOME: flink.home } },
  );
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Job has been submitted/);
  const argv = (await flink.argv())!;
  t.deepEqual(argv.slice(0, 3), ['run-application', '--target', 'kubernetes-application']);
  const jar = argv.indexOf('local:///opt/flink/artifacts/default/app/j.jar');
  t.deepEqual(argv.slice(jar), ['local:///opt/flink/artifacts/default/app/j.jar', '--input', 's3://in', 'extra', '-p', '9'], 'everything after the jar is the program\'s');
  t.deepEqual(argv.slice(jar - 8, jar), ['-c', 'com.example.Job', '-p', '3', '-s', 's3://b/savepoints/sp-1', '-n', '-d'], 'Flink\'s run options, verbatim, before the jar');
  t.is(option(argv, 'kubernetes.cluster-id'), 'app');
});

test('the issue\'s command: options after the jar, then -- and the program\'s arguments (Flink 2.x: flink run)', async (t) => {
  const flink = await fakeFlinkHome({ version: '2.0.0' });
  const result = await runCli(['run-application', 's3://b/j.jar', '-Dkubernetes.cluster-id=x', '--fetcher-image', IMAGE, '--no-check', '--', '--input', 's3://in', 'extra'], { env: { FLINK_HOME: flink.home } });
  t.is(result.code, 0, result.stderr);
  const argv = (await flink.argv())!;
  t.deepEqual(argv.slice(0, 3), ['run', '--target', 'kubernetes-application'], 'Flink 2.x has no run-application');
  t.deepEqual(argv.slice(-4), ['local:///opt/flink/artifacts/default/x/j.jar', '--input', 's3://in', 'extra']);
  t.false(argv.includes('run-application'));
});

test('Flink 1.20 is submitted with flink run (run-application is deprecated there); --flink-version overrides what $FLINK_HOME says', async (t) => {
  const flink = await fakeFlinkHome({ version: '1.20.0' });
  const common = ['run-application', '-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE, '--no-check', 's3://b/j.jar'];
  t.is((await runCli(common, { env: { FLINK_HOME: flink.home } })).code, 0);
  t.is((await flink.argv())![0], 'run');
  t.is((await runCli(['run-application', '--flink-version', '1.19', ...common.slice(1)], { env: { FLINK_HOME: flink.home } })).code, 0);
  t.is((await flink.argv())![0], 'run-application');
  const bad = await runCli(['run-application', '--flink-version', 'latest', ...common.slice(1)], { env: { FLINK_HOME: flink.home } });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--flink-version must be a Flink version/);
});

test('a FLINK_HOME that is no Flink distribution is exit 2 before anything runs, unless --flink-version says which Flink it is', async (t) => {
  const notFlink = await fakeFlinkHome({});
  const common = ['run-application', '-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE, '--no-check', 's3://b/j.jar'];
  const result = await runCli(common, { env: { FLINK_HOME: notFlink.home } });
  t.is(result.code, 2);
  t.regex(result.stderr, /cannot tell which Flink .* is: it has no lib\/flink-dist-<version>\.jar/);
  t.is(await notFlink.argv(), undefined);
  t.is((await runCli([...common.slice(0, 1), '--flink-version', '2.1', ...common.slice(1)], { env: { FLINK_HOME: notFlink.home } })).code, 0);
  t.is((await notFlink.argv())![0], 'run');
});

test('Flink\'s config dir: $FLINK_HOME/conf/config.yaml gives the cluster id, namespace and the user\'s template, as bin/flink reads it', async (t) => {
  const templates = await tempDir();
  const userTemplate = await writeFixture(
    join(templates, 'jm.yaml'),
    'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: log-shipper\n      image: fluent-bit:3\n',
  );
  const flink = await fakeFlinkHome({
    version: '2.0.0',
    conf: {
      'config.yaml': `kubernetes:\n  cluster-id: from-conf\n  namespace: flink\n  pod-template-file:\n    jobmanager: ${userTemplate}\nflink-artifacts:\n  fetcher:\n    image: ${IMAGE}\n`,
    },
  });
  const result = await runCli(['run-application', '--no-check', 's3://b/j.jar'], { env: { FLINK_HOME: flink.home, FLINK_CONF_DIR: '' } });
  t.is(result.code, 0, result.stderr);
  const argv = (await flink.argv())!;
  t.is(argv.at(-1), 'local:///opt/flink/artifacts/flink/from-conf/j.jar');
  t.is(await flink.confDir(), '', 'bin/flink finds $FLINK_HOME/conf itself');
  const pod = parse(await flink.template()) as IPod;
  t.deepEqual(pod.spec!.containers.map((c) => c.name), ['log-shipper', 'flink-main-container'], 'the user\'s template is the base, not replaced');
  t.true(fetcherOf(pod).args!.includes('-Dkubernetes.namespace=flink'));
  t.is(fetcherOf(pod).image, IMAGE, 'the image from flink-artifacts.fetcher.image in config.yaml');
  checkPodStrict(pod, 'the template bin/flink got');

  // FLINK_CONF_DIR wins over $FLINK_HOME/conf, as in bin/flink's config.sh, and is passed on.
  const other = await tempDir();
  await writeFixture(join(other, 'config.yaml'), `kubernetes.cluster-id: from-env\nflink-artifacts.fetcher.image: ${IMAGE}\n`);
  const viaEnv = await runCli(['run-application', '--no-check', 's3://b/j.jar'], { env: { FLINK_HOME: flink.home, FLINK_CONF_DIR: other } });
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.is((await flink.argv())!.at(-1), 'local:///opt/flink/artifacts/default/from-env/j.jar');
  t.is(await flink.confDir(), other);
});

test('file precedence follows the Flink version: 1.19/1.20 read flink-conf.yaml first, 2.x only config.yaml', async (t) => {
  const conf = {
    'flink-conf.yaml': `kubernetes.cluster-id: legacy\nflink-artifacts.fetcher.image: ${IMAGE}\n`,
    'config.yaml': `kubernetes.cluster-id: standard\nflink-artifacts.fetcher.image: ${IMAGE}\n`,
  };
  for (const [version, expected] of [
    ['1.19.1', 'legacy'],
    ['1.20.0', 'legacy'],
    ['2.0.0', 'standard'],
  ] as const) {
    const flink = await fakeFlinkHome({ version, conf });
    const result = await runCli(['run-application', '--no-check', 's3://b/j.jar'], { env: { FLINK_HOME: flink.home, FLINK_CONF_DIR: '' } });
    t.is(result.code, 0, result.stderr);
    t.is((await flink.argv())!.at(-1), `local:///opt/flink/artifacts/default/${expected}/j.jar`, version);
  }
  const legacyOnly = await fakeFlinkHome({ version: '2.1.0', conf: { 'flink-conf.yaml': 'kubernetes.cluster-id: legacy\n' } });
  const refused = await runCli(['run-application', '--no-check', 's3://b/j.jar'], { env: { FLINK_HOME: legacyOnly.home, FLINK_CONF_DIR: '' } });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /Flink 2\.1\.0 reads only config\.yaml, and .* has only flink-conf\.yaml/);
  t.regex(refused.stderr, /migrate-config-file\.sh/);
});

test('uploads to S3, checks, renders and submits with the rewritten options; credentials stay as given for Flink and out of the init container', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('runapp');
  await s3.createBucket(bucket);
  await s3.put(bucket, 'shared/lib.jar', 'shared lib');
  const src = await tempDir();
  await writeFixture(join(src, 'my-job.jar'), 'job bytes');
  await writeFixture(join(src, 'udf.jar'), 'udf bytes');
  const flink = await fakeFlinkHome({ version: '1.20.1' });
  const result = await runCli(
    [
      'run-application',
      '-Dkubernetes.cluster-id=my-first-application-cluster',
      '-Dkubernetes.container.image.ref=custom-image-name',
      '-Dkubernetes.artifacts.local-upload-enabled=true',
      `-Dkubernetes.artifacts.local-upload-target=s3://${bucket}/jobs/`,
      `-Duser.artifacts.artifact-list=local://${src}/udf.jar;s3://${bucket}/shared/lib.jar`,
      `-Ds3.endpoint=${s3.endpoint}`,
      '-Ds3.path.style.access=true',
      `-Ds3.access-key=${s3.accessKey}`,
      `-Ds3.secret-key=${s3.secretKey}`,
      '-Dflink-artifacts.retry.max-attempts=7',
      '--fetcher-image',
      IMAGE,
      `local://${src}/my-job.jar`,
    ],
    { env: { FLINK_HOME: flink.home } },
  );
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Job has been submitted/);
  t.regex(result.stderr, /checked 1 remote artifact: all exist/);
  t.false(result.stderr.includes(s3.secretKey), 'the secret key is masked in what we print');
  t.regex(result.stderr, /-Ds3\.secret-key=\*\*\*/, 'masked from the parsed key, the rest of the command intact');
  t.regex(result.stderr, /s3\.access-key, s3\.secret-key are given as literal values: bin\/flink ships every option to the cluster/);

  for (const key of ['jobs/my-job.jar', 'jobs/udf.jar']) {
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    t.truthy(head.Metadata?.sha256, key);
  }
  const argv = (await flink.argv())!;
  t.deepEqual(argv.slice(0, 3), ['run', '--target', 'kubernetes-application']);
  t.is(argv.at(-1), 'local:///opt/flink/artifacts/default/my-first-application-cluster/my-job.jar');
  t.true(argv.includes('-Dkubernetes.container.image.ref=custom-image-name'), 'the user\'s options are passed on');
  t.true(argv.includes(`-Ds3.secret-key=${s3.secretKey}`), 'Flink\'s own S3 filesystem (checkpoints) keeps its credentials');
  t.true(argv.includes('-Dkubernetes.artifacts.local-upload-enabled=false'), 'Flink must not upload again');
  t.false(argv.some((a) => a.startsWith('-Dflink-artifacts.')), 'our options are the init container\'s, not Flink\'s');
  t.is(option(argv, 'user.artifacts.artifact-list'), 'local:///opt/flink/artifacts/default/my-first-application-cluster/udf.jar;local:///opt/flink/artifacts/default/my-first-application-cluster/lib.jar');
  const templateArg = option(argv, 'kubernetes.pod-template-file.jobmanager')!;

  const pod = parse(await flink.template()) as IPod;
  checkPodStrict(pod, 'the template bin/flink got');
  const fetcher = fetcherOf(pod);
  t.is(fetcher.image, IMAGE);
  t.true(fetcher.args!.includes(`s3://${bucket}/jobs/my-job.jar`));
  t.true(fetcher.args!.includes(`-Duser.artifacts.artifact-list=s3://${bucket}/jobs/udf.jar;s3://${bucket}/shared/lib.jar`));
  t.true(fetcher.args!.includes('-Dflink-artifacts.retry.max-attempts=7'), 'retry options reach the init container');
  t.false(JSON.stringify(pod).includes(s3.secretKey), 'no secret in the pod template');
  // The temporary template is removed once flink has read it.
  await t.throwsAsync(stat(templateArg), { code: 'ENOENT' });
});

test('a missing remote artifact fails on the laptop before bin/flink runs; --no-check skips the check', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('check');
  await s3.createBucket(bucket);
  await s3.put(bucket, 'jobs/job.jar', 'job');
  const flink = await fakeFlinkHome({ version: '1.20.0' });
  const args = [
    'run-application',
    '-Dkubernetes.cluster-id=app',
    `-Ds3.endpoint=${s3.endpoint}`,
    `-Ds3.access-key=${s3.accessKey}`,
    `-Ds3.secret-key=${s3.secretKey}`,
    `-Duser.artifacts.artifact-list=s3://${bucket}/libs/typo.jar;s3://${bucket}/libs/also-missing.jar`,
    '--fetcher-image',
    IMAGE,
    `s3://${bucket}/jobs/job.jar`,
  ];
  const started = Date.now();
  const result = await runCli(args, { env: { FLINK_HOME: flink.home } });
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`2 of 3 remote artifacts cannot be fetched: s3://${bucket}/libs/typo\\.jar: not found; s3://${bucket}/libs/also-missing\\.jar: not found`));
  t.regex(result.stderr, /flink was not run/);
  t.is(await flink.argv(), undefined, 'bin/flink never ran');
  t.true(Date.now() - started < 20_000, 'a second or so, not a crash-looping pod');
  const skipped = await runCli(['run-application', '--no-check', ...args.slice(1)], { env: { FLINK_HOME: flink.home } });
  t.is(skipped.code, 0, skipped.stderr);
  t.truthy(await flink.argv());

  // What the fetcher would refuse is a usage error before the check, not a missing object.
  const plainHttp = await runCli(['run-application', '-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE, 'http://127.0.0.1:9/job.jar'], { env: { FLINK_HOME: flink.home } });
  t.is(plainHttp.code, 2);
  t.regex(plainHttp.stderr, /plain http is disabled: http:\/\/127\.0\.0\.1:9\/job\.jar/);
  t.notRegex(plainHttp.stderr, /--no-check/);
});

test('--dry-run: prints the command and the template; --pod-template-out writes the file it names, otherwise no path is printed', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const target = join(await tempDir(), 'store');
  const common = [
    'run-application',
    '-Dkubernetes.cluster-id=dry',
    '-Dkubernetes.artifacts.local-upload-enabled=true',
    `-Dkubernetes.artifacts.local-upload-target=file://${target}/`,
    '--fetcher-image',
    IMAGE,
    '--dry-run',
    '--flink-version',
    '1.19',
  ];
  const result = await runCli([...common, `local://${src}/job.jar`, '--input', 'x'], { env: { FLINK_HOME: '' } });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^\$FLINK_HOME\/bin\/flink run-application --target kubernetes-application .*'-Dkubernetes\.pod-template-file\.jobmanager=<the template below>' -Dkubernetes\.artifacts\.local-upload-enabled=false local:\/\/\/opt\/flink\/artifacts\/default\/dry\/job\.jar --input x$/m);
  t.regex(result.stdout, /# <the template below> \(not written: pass --pod-template-out FILE to keep it\)\napiVersion: v1\nkind: Pod/);
  t.regex(result.stdout, new RegExp(`- file://${target}/job.jar`));
  t.regex(result.stderr, /local-upload-target file:\/\/.* is a directory on this machine: pods cannot read it/);
  await t.throwsAsync(stat(target), { code: 'ENOENT' });

  const out = join(await tempDir(), 'jm.yaml');
  const kept = await runCli([...common, '--pod-template-out', out, `local://${src}/job.jar`], { env: { FLINK_HOME: '' } });
  t.is(kept.code, 0, kept.stderr);
  t.regex(kept.stdout, new RegExp(`-Dkubernetes\\.pod-template-file\\.jobmanager=${out.replaceAll('.', '\\.')} `));
  const written = await readFile(out, 'utf8');
  t.true(kept.stdout.endsWith(written), 'the file holds the template that was printed');
});

test('bin/flink\'s exit code is passed on; no FLINK_HOME is exit 2; another --target is refused', async (t) => {
  const common = ['run-application', '-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE, '--no-check', 'https://h/job.jar'];
  const noHome = await runCli(common, { env: { FLINK_HOME: '' } });
  t.is(noHome.code, 2);
  t.regex(noHome.stderr, /FLINK_HOME is not set/);
  const failing = await fakeFlinkHome({ version: '1.20.0', exitCode: 3 });
  t.is((await runCli(common, { env: { FLINK_HOME: failing.home } })).code, 3);
  const target = await runCli(['run-application', '-t', 'yarn-application', ...common.slice(1)], { env: { FLINK_HOME: failing.home } });
  t.is(target.code, 2);
  t.regex(target.stderr, /-t yarn-application: this command submits to kubernetes-application only/);
  const same = await fakeFlinkHome({ version: '1.20.0' });
  t.is((await runCli(['run-application', '--target', 'kubernetes-application', ...common.slice(1)], { env: { FLINK_HOME: same.home } })).code, 0);
  t.is((await same.argv())!.filter((a) => a === '--target').length, 1, 'given once, not twice');
});

test('options after the jar go to the program, as with bin/flink, with a warning; unknown options before it are an error', async (t) => {
  const flink = await fakeFlinkHome({ version: '1.20.0' });
  const result = await runCli(['run-application', '--fetcher-image', IMAGE, '--no-check', '-Dkubernetes.cluster-id=app', 's3://b/j.jar', '-Dmy.prop=1', '--fetcher-image', 'x'], { env: { FLINK_HOME: flink.home } });
  t.is(result.code, 0, result.stderr);
  t.deepEqual((await flink.argv())!.slice(-4), ['local:///opt/flink/artifacts/default/app/j.jar', '-Dmy.prop=1', '--fetcher-image', 'x']);
  t.regex(result.stderr, /-Dmy\.prop=1 --fetcher-image come after the job jar, so they go to the program's main\(\)/);
  const unknown = await runCli(['run-application', '--bogus', 's3://b/j.jar'], { env: { FLINK_HOME: flink.home } });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option --bogus/);
});

test('Flink older than 1.19 with user.artifacts.* keys: a warning that Flink ignores them', async (t) => {
  const flink = await fakeFlinkHome({ version: '1.18.1' });
  const result = await runCli(
    ['run-application', '-Dkubernetes.cluster-id=app', '-Duser.artifacts.artifact-list=https://h/udf.jar', '--fetcher-image', IMAGE, '--no-check', 'https://h/job.jar'],
    { env: { FLINK_HOME: flink.home } },
  );
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /Flink 1\.18 \(of \$FLINK_HOME\) predates user artifact management \(Flink 1\.19\): it ignores user\.artifacts\.artifact-list/);
  t.is((await flink.argv())![0], 'run-application');
});
