/**
 * `flink-artifacts render` and `run-application` as users run them. Flink itself is not
 * installed here: a stand-in `flink` in FLINK_HOME records its arguments and the pod template
 * it was given; the upload step talks to the real S3 server.
 */
import { chmod, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { runCli } from '@flink-artifacts/test-helpers/cli';
import { tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

interface PodLike {
  kind: string;
  spec: { initContainers?: { name: string; image: string; args: string[] }[]; containers: { name: string; volumeMounts?: { mountPath: string }[] }[] };
}

test('render prints a pod template; -o writes the same bytes every time', async (t) => {
  const args = ['render', 's3://bucket/job.jar', '-Dkubernetes.cluster-id=app', '-Duser.artifacts.artifact-list=https://h/udf.jar'];
  const printed = await runCli(args);
  t.is(printed.code, 0, printed.stderr);
  const pod = parse(printed.stdout) as PodLike;
  t.is(pod.kind, 'Pod');
  t.deepEqual(pod.spec.initContainers?.map((c) => c.name), ['artifacts-fetcher']);
  t.regex(printed.stderr, /for flink run-application: .*local:\/\/\/opt\/flink\/artifacts\/default\/app\/job\.jar/);

  const dir = await tempDir();
  t.is((await runCli([...args, '-o', join(dir, 'a.yaml')])).code, 0);
  t.is((await runCli([...args, '-o', join(dir, 'b.yaml')])).code, 0);
  t.is(await readFile(join(dir, 'a.yaml'), 'utf8'), await readFile(join(dir, 'b.yaml'), 'utf8'));
  t.is(await readFile(join(dir, 'a.yaml'), 'utf8'), printed.stdout);
});

test('render --format deployment and flinkdeployment; an unknown format exits 2 naming the option', async (t) => {
  const common = ['render', 's3://bucket/job.jar', '-Dkubernetes.cluster-id=app'];
  const deployment = await runCli([...common, '--format', 'deployment']);
  t.is(deployment.code, 0, deployment.stderr);
  t.is((parse(deployment.stdout) as { kind: string }).kind, 'Deployment');
  const operator = await runCli([...common, '--format', 'flinkdeployment', '--flink-version', 'v2_0']);
  t.is(operator.code, 0, operator.stderr);
  t.like(parse(operator.stdout), { kind: 'FlinkDeployment', spec: { flinkVersion: 'v2_0', job: { jarURI: 'local:///opt/flink/artifacts/default/app/job.jar' } } });
  const bad = await runCli([...common, '--format', 'helm']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /format/);
  t.regex(bad.stderr, /helm/);
});

test('the user\'s template is read from kubernetes.pod-template-file.*; bad templates exit 2 naming the file', async (t) => {
  const dir = await tempDir();
  const good = await writeFixture(
    join(dir, 'jm.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\nspec:\n  containers:\n    - name: sidecar\n      image: busybox\n',
  );
  const rendered = await runCli(['render', 's3://b/job.jar', '-Dkubernetes.cluster-id=app', `-Dkubernetes.pod-template-file.default=${good}`]);
  t.is(rendered.code, 0, rendered.stderr);
  t.deepEqual((parse(rendered.stdout) as PodLike).spec.containers.map((c) => c.name), ['sidecar', 'flink-main-container']);

  const cases: [string, string, RegExp][] = [
    ['broken.yaml', 'spec: [unclosed\n', /broken\.yaml is not valid YAML/],
    ['deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\n', /deploy\.yaml is a Deployment, not a Pod/],
    ['two.yaml', 'kind: Pod\n---\nkind: Pod\n', /two\.yaml must hold exactly one YAML document/],
  ];
  for (const [name, text, pattern] of cases) {
    const path = await writeFixture(join(dir, name), text);
    const result = await runCli(['render', 's3://b/job.jar', '-Dkubernetes.cluster-id=app', `-Dkubernetes.pod-template-file.jobmanager=${path}`]);
    t.is(result.code, 2, name);
    t.regex(result.stderr, pattern, name);
  }
  const missing = await runCli(['render', 's3://b/job.jar', '-Dkubernetes.cluster-id=app', `-Dkubernetes.pod-template-file.jobmanager=${join(dir, 'nope.yaml')}`]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /nope\.yaml/);
});

/** A stand-in `flink` that records its arguments and a copy of the pod template it was given. */
async function fakeFlink(exitCode = 0): Promise<{ home: string; argv(): Promise<string[]>; template(): Promise<string> }> {
  const home = await tempDir('fa-flink-home-');
  const script = `#!/usr/bin/env bash
printf '%s\\n' "$@" > "${home}/argv"
for arg in "$@"; do
  case "$arg" in -Dkubernetes.pod-template-file.jobmanager=*) cp "\${arg#*=}" "${home}/template.yaml";; esac
done
echo "Job has been submitted with JobID 0123456789abcdef"
exit ${exitCode}
`;
  await writeFixture(join(home, 'bin', 'flink'), script);
  await chmod(join(home, 'bin', 'flink'), 0o755);
  return {
    home,
    argv: async () => (await readFile(join(home, 'argv'), 'utf8')).trimEnd().split('\n'),
    template: () => readFile(join(home, 'template.yaml'), 'utf8'),
  };
}

test('run-application uploads to S3, renders the template, and runs flink with the rewritten options', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('runapp');
  await s3.createBucket(bucket);
  const src = await tempDir();
  await writeFixture(join(src, 'my-job.jar'), 'job bytes');
  await writeFixture(join(src, 'udf.jar'), 'udf bytes');
  const flink = await fakeFlink();
  const result = await runCli(
    [
      'run-application',
      `local://${src}/my-job.jar`,
      '-Dkubernetes.cluster-id=my-first-application-cluster',
      '-Dkubernetes.container.image.ref=custom-image-name',
      '-Dkubernetes.artifacts.local-upload-enabled=true',
      `-Dkubernetes.artifacts.local-upload-target=s3://${bucket}/jobs/`,
      `-Duser.artifacts.artifact-list=local://${src}/udf.jar;s3://${bucket}/shared/lib.jar`,
      `-Ds3.endpoint=${s3.endpoint}`,
      '-Ds3.path.style.access=true',
      `-Ds3.access-key=${s3.accessKey}`,
      `-Ds3.secret-key=${s3.secretKey}`,
      '--fetcher-image',
      'registry.example.com/fetcher:1',
    ],
    { env: { FLINK_HOME: flink.home } },
  );
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Job has been submitted/);
  t.false(result.stderr.includes(s3.secretKey), 'the secret key is masked in what we print');

  // The upload happened, to the target.
  for (const key of ['jobs/my-job.jar', 'jobs/udf.jar']) {
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    t.truthy(head.Metadata?.sha256, key);
  }

  const argv = await flink.argv();
  t.deepEqual(argv.slice(0, 3), ['run-application', '--target', 'kubernetes-application']);
  t.is(argv.at(-1), 'local:///opt/flink/artifacts/default/my-first-application-cluster/my-job.jar');
  t.true(argv.includes('-Dkubernetes.container.image.ref=custom-image-name'), 'the user\'s options are passed on');
  t.true(argv.includes('-Dkubernetes.artifacts.local-upload-enabled=false'), 'Flink must not upload again');
  t.false(argv.includes('-Dkubernetes.artifacts.local-upload-enabled=true'));
  t.true(argv.includes('-Duser.artifacts.artifact-list=local:///opt/flink/artifacts/default/my-first-application-cluster/udf.jar;local:///opt/flink/artifacts/default/my-first-application-cluster/lib.jar'));
  t.is(argv.filter((a) => a.startsWith('-Duser.artifacts.artifact-list=')).length, 1);
  const templateArg = argv.find((a) => a.startsWith('-Dkubernetes.pod-template-file.jobmanager='))!;

  const pod = parse(await flink.template()) as PodLike;
  const fetcher = pod.spec.initContainers!.at(-1)!;
  t.is(fetcher.image, 'registry.example.com/fetcher:1');
  t.true(fetcher.args.includes(`s3://${bucket}/jobs/my-job.jar`));
  t.true(fetcher.args.includes(`-Duser.artifacts.artifact-list=s3://${bucket}/jobs/udf.jar;s3://${bucket}/shared/lib.jar`));
  t.false(JSON.stringify(pod).includes(s3.secretKey), 'no secret in the manifest');
  // The temporary template is removed once flink has read it.
  await t.throwsAsync(stat(templateArg.split('=')[1]!), { code: 'ENOENT' });
});

test('run-application --dry-run prints the command and the template and uploads nothing', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'x');
  const target = join(await tempDir(), 'store');
  const result = await runCli([
    'run-application',
    `local://${src}/job.jar`,
    '-Dkubernetes.cluster-id=dry',
    '-Dkubernetes.artifacts.local-upload-enabled=true',
    `-Dkubernetes.artifacts.local-upload-target=file://${target}/`,
    '--dry-run',
  ]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^\$FLINK_HOME\/bin\/flink run-application --target kubernetes-application .*-Dkubernetes\.pod-template-file\.jobmanager=\S+ -Dkubernetes\.artifacts\.local-upload-enabled=false local:\/\/\/opt\/flink\/artifacts\/default\/dry\/job\.jar$/m);
  t.regex(result.stdout, /# \S+jobmanager-pod-template\.yaml\napiVersion: v1\nkind: Pod/);
  t.regex(result.stdout, new RegExp(`- file://${target}/job.jar`));
  await t.throwsAsync(readdir(target), { code: 'ENOENT' });
});

test('run-application: no FLINK_HOME exits 2; flink\'s own exit code is passed on', async (t) => {
  const common = ['run-application', 'https://h/job.jar', '-Dkubernetes.cluster-id=app'];
  const noHome = await runCli(common, { env: { FLINK_HOME: '' } });
  t.is(noHome.code, 2);
  t.regex(noHome.stderr, /FLINK_HOME is not set/);
  const failing = await fakeFlink(3);
  const result = await runCli(common, { env: { FLINK_HOME: failing.home } });
  t.is(result.code, 3);
  const kept = join(await tempDir(), 'kept.yaml');
  const ok = await fakeFlink(0);
  t.is((await runCli([...common, '--pod-template-out', kept], { env: { FLINK_HOME: ok.home } })).code, 0);
  t.regex(await readFile(kept, 'utf8'), /artifacts-fetcher/);
});
