/**
 * `flink-artifacts render` as users run it, through the CLI: every manifest it prints is checked
 * in strict mode (unknown fields refused, as `kubectl --validate=strict`), and a FlinkDeployment
 * against the operator's CRD schema.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { checkDeploymentStrict, checkFlinkDeploymentStrict, checkJobStrict, checkPodStrict, type FlinkDeployment, type renderDeployment, type renderPodTemplate } from '@flink-artifacts/deploy';
import { runCli } from '@flink-artifacts/test-helpers/cli';
import { tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { fakeFlinkHome } from '@flink-artifacts/test-helpers/flink-home';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

type IPod = ReturnType<typeof renderPodTemplate>['manifest'];
type JobOrDeployment = ReturnType<typeof renderDeployment>['manifest'];

const IMAGE = 'registry.example.com/flink-artifacts-fetcher:0.1.0';
const base = ['-Dkubernetes.cluster-id=app', '--fetcher-image', IMAGE];
const fetcherOf = (pod: IPod) => pod.spec!.initContainers!.find((c) => c.name === 'artifacts-fetcher')!;

test('render prints a strict-valid pod template and the bin/flink command for its version; -o writes the same bytes every time', async (t) => {
  const args = ['render', ...base, '-Duser.artifacts.artifact-list=https://h/udf.jar', 's3://bucket/job.jar'];
  const printed = await runCli(args, { env: { FLINK_HOME: '' } });
  t.is(printed.code, 0, printed.stderr);
  const pod = parse(printed.stdout) as IPod;
  checkPodStrict(pod, 'render output');
  t.deepEqual(pod.spec!.initContainers?.map((c) => c.name), ['artifacts-fetcher']);
  t.regex(printed.stderr, /then run .*: \$FLINK_HOME\/bin\/flink run --target kubernetes-application '-Dkubernetes\.pod-template-file\.jobmanager=<the template above>' .*local:\/\/\/opt\/flink\/artifacts\/default\/app\/job\.jar$/m);

  const dir = await tempDir();
  t.is((await runCli([...args.slice(0, 1), '-o', join(dir, 'a.yaml'), ...args.slice(1)])).code, 0);
  t.is((await runCli([...args.slice(0, 1), '-o', join(dir, 'b.yaml'), ...args.slice(1)])).code, 0);
  t.is(await readFile(join(dir, 'a.yaml'), 'utf8'), await readFile(join(dir, 'b.yaml'), 'utf8'));
  t.is(await readFile(join(dir, 'a.yaml'), 'utf8'), printed.stdout);

  // The hint follows the Flink of $FLINK_HOME: run-application for 1.19.
  const old = await fakeFlinkHome({ version: '1.19.2' });
  const hinted = await runCli(['render', ...base, '-o', join(dir, 'c.yaml'), '-c', 'com.Ex', 's3://bucket/job.jar', '--in', 'x'], { env: { FLINK_HOME: old.home } });
  t.is(hinted.code, 0, hinted.stderr);
  t.regex(hinted.stderr, new RegExp(`bin/flink run-application --target kubernetes-application -Dkubernetes\\.pod-template-file\\.jobmanager=${join(dir, 'c.yaml').replaceAll('.', '\\.')} -c com\\.Ex local:///opt/flink/artifacts/default/app/job\\.jar --in x`));
});

test('render reads Flink\'s conf dir as bin/flink does: FLINK_CONF_DIR, else $FLINK_HOME/conf', async (t) => {
  const flink = await fakeFlinkHome({ version: '2.0.0', conf: { 'config.yaml': `kubernetes.cluster-id: from-home\nkubernetes.namespace: flink\nflink-artifacts.fetcher.image: ${IMAGE}\n` } });
  const result = await runCli(['render', 's3://b/job.jar'], { env: { FLINK_HOME: flink.home, FLINK_CONF_DIR: '' } });
  t.is(result.code, 0, result.stderr);
  t.true(fetcherOf(parse(result.stdout) as IPod).args!.includes('-Dkubernetes.namespace=flink'));
  t.regex(result.stderr, /local:\/\/\/opt\/flink\/artifacts\/flink\/from-home\/job\.jar/);
});

test('--format deployment: a batch/v1 Job without HA, a Deployment with it; program arguments after the jar; args in the template refused', async (t) => {
  const job = await runCli(['render', '--format', 'deployment', ...base, '-c', 'com.example.Job', '-p', '4', 's3://bucket/job.jar', '--input', 's3://in']);
  t.is(job.code, 0, job.stderr);
  const manifest = parse(job.stdout) as JobOrDeployment;
  t.is(manifest.kind, 'Job');
  checkJobStrict(manifest as Parameters<typeof checkJobStrict>[0], 'render output');
  const main = manifest.spec!.template.spec!.containers.find((c) => c.name === 'flink-main-container')!;
  t.is(manifest.spec!.template.spec!.restartPolicy, 'OnFailure');
  t.deepEqual(main.args!.slice(-3), ['--', '--input', 's3://in']);
  t.true(main.args!.includes('-Dparallelism.default=4'));
  t.deepEqual(main.args!.slice(3, 5), ['--job-classname', 'com.example.Job']);

  const ha = await runCli(['render', '--format', 'deployment', ...base, '-Dhigh-availability.type=kubernetes', '-Dhigh-availability.storageDir=s3://b/ha', 's3://bucket/job.jar']);
  t.is(ha.code, 0, ha.stderr);
  const deployment = parse(ha.stdout) as JobOrDeployment;
  t.is(deployment.kind, 'Deployment');
  checkDeploymentStrict(deployment as Parameters<typeof checkDeploymentStrict>[0], 'render output');
  t.deepEqual(deployment.spec!.template.spec!.containers.find((c) => c.name === 'flink-main-container')!.args!.slice(1, 3), ['--host', '$(POD_IP)'], 'the one reference the kubelet expands');

  // Kubernetes expands $(VAR) and turns $$ into $ in container args: ours reach the process as written.
  const dollars = await runCli(['render', '--format', 'deployment', ...base, 's3://bucket/j$1.jar', 'a$$b', '$(HOME)']);
  t.is(dollars.code, 0, dollars.stderr);
  const spec = (parse(dollars.stdout) as JobOrDeployment).spec!.template.spec!;
  t.deepEqual(spec.containers.find((c) => c.name === 'flink-main-container')!.args!.slice(-3), ['--', 'a$$$$b', '$$(HOME)']);
  t.true(spec.initContainers![0]!.args!.includes('s3://bucket/j$$1.jar'));

  const dir = await tempDir();
  const template = await writeFixture(join(dir, 'jm.yaml'), 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: flink-main-container\n      args: ["jobmanager"]\n');
  const refused = await runCli(['render', '--format', 'deployment', ...base, `-Dkubernetes.pod-template-file.jobmanager=${template}`, 's3://bucket/job.jar']);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /jm\.yaml sets args for flink-main-container/);
});

test('--format flinkdeployment: job fields from Flink\'s options, flinkVersion from $FLINK_HOME, the image tag or the option, TaskManager templates kept', async (t) => {
  const dir = await tempDir();
  const tm = await writeFixture(join(dir, 'tm.yaml'), 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: flink-main-container\n      resources:\n        limits:\n          ephemeral-storage: 8Gi\n');
  const common = await writeFixture(join(dir, 'common.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    team: data\nspec:\n  containers:\n    - name: flink-main-container\n');
  const result = await runCli(
    [
      'render',
      '--format',
      'flinkdeployment',
      ...base,
      `-Dkubernetes.pod-template-file.taskmanager=${tm}`,
      `-Dkubernetes.pod-template-file.default=${common}`,
      '-Dexecution.checkpointing.savepoint-dir=s3://b/sp',
      '-Dexecution.checkpointing.dir=s3://b/cp',
      '--upgrade-mode',
      'savepoint',
      '-c',
      'com.example.Job',
      '-p',
      '6',
      '-s',
      's3://b/sp/savepoint-1',
      '-n',
      's3://bucket/job.jar',
      '--input',
      's3://in',
      '--verbose',
    ],
    { env: { FLINK_HOME: (await fakeFlinkHome({ version: '2.1.0' })).home } },
  );
  t.is(result.code, 0, result.stderr);
  const resource = parse(result.stdout) as FlinkDeployment;
  checkFlinkDeploymentStrict(resource, 'render output');
  t.is(resource.spec.flinkVersion, 'v2_1', 'from $FLINK_HOME when no image is configured');
  t.is(resource.spec.image, 'flink:2.1');
  t.deepEqual(resource.spec.job, {
    jarURI: 'local:///opt/flink/artifacts/default/app/job.jar',
    entryClass: 'com.example.Job',
    args: ['--input', 's3://in', '--verbose'],
    parallelism: 6,
    initialSavepointPath: 's3://b/sp/savepoint-1',
    allowNonRestoredState: true,
    upgradeMode: 'savepoint',
  });
  t.deepEqual(resource.spec.taskManager.podTemplate?.spec?.containers[0]?.resources, { limits: { 'ephemeral-storage': '8Gi' } });
  t.deepEqual(resource.spec.podTemplate?.metadata, { labels: { team: 'data' } });
  t.truthy(fetcherOf(resource.spec.jobManager.podTemplate as IPod));

  const fromTag = await runCli(['render', '--format', 'flinkdeployment', ...base, '-Dkubernetes.container.image.ref=flink:2.0.0-java17', 's3://bucket/job.jar']);
  t.is((parse(fromTag.stdout) as FlinkDeployment).spec.flinkVersion, 'v2_0');
  const rejected = await runCli(['render', '--format', 'flinkdeployment', ...base, '--flink-version', 'v1_12', 's3://bucket/job.jar']);
  t.is(rejected.code, 2);
  t.regex(rejected.stderr, /no flinkVersion v1_12/);
  const lastState = await runCli(['render', '--format', 'flinkdeployment', ...base, '--upgrade-mode', 'last-state', 's3://bucket/job.jar']);
  t.is(lastState.code, 2);
  t.regex(lastState.stderr, /last-state needs JobManager high availability/);
});

test('--format flinkdeployment: what the operator\'s validator refuses is exit 2 here, and Flink\'s sizing keys reach the fields the operator writes back', async (t) => {
  const render = (...args: string[]) => runCli(['render', '--format', 'flinkdeployment', ...base, ...args, 's3://bucket/job.jar']);
  const ha = ['-Dhigh-availability.type=kubernetes', '-Dhigh-availability.storageDir=s3://b/ha'];

  const plain = parse((await render()).stdout) as FlinkDeployment;
  t.is(plain.spec.job?.parallelism, 1, 'the operator refuses a job without parallelism; 1 is Flink\'s default');
  t.deepEqual(plain.spec.jobManager.resource, { memory: '1600m', cpu: 1 });

  const sized = await render('-Dparallelism.default=4', '-Dkubernetes.jobmanager.cpu.amount=2', '-Dkubernetes.taskmanager.cpu=0.5', '-Djobmanager.memory.flink.size=2g', '-Dtaskmanager.memory.process.size=4g', '-Dkubernetes.jobmanager.replicas=2', ...ha);
  t.is(sized.code, 0, sized.stderr);
  const resource = parse(sized.stdout) as FlinkDeployment;
  checkFlinkDeploymentStrict(resource, 'render output');
  t.is(resource.spec.job?.parallelism, 4);
  t.deepEqual(resource.spec.jobManager.resource, { cpu: 2 }, 'no process size that contradicts jobmanager.memory.flink.size');
  t.is(resource.spec.flinkConfiguration['jobmanager.memory.flink.size'], '2g');
  t.deepEqual(resource.spec.taskManager.resource, { memory: '4g', cpu: 0.5 });
  t.is(resource.spec.jobManager.replicas, 2);
  for (const key of ['kubernetes.jobmanager.cpu.amount', 'kubernetes.taskmanager.cpu', 'kubernetes.jobmanager.replicas', 'taskmanager.memory.process.size']) {
    t.false(key in resource.spec.flinkConfiguration, `${key} is carried by its field, not twice`);
  }

  const refused: [string[], RegExp][] = [
    [['--upgrade-mode', 'savepoint', '-Dexecution.checkpointing.savepoint-dir=s3://b/sp'], /upgrade mode savepoint needs a checkpoint directory/],
    [['--upgrade-mode', 'last-state', ...ha], /upgrade mode last-state needs a checkpoint directory/],
    [['-Dhigh-availability.cluster-id=foo'], /high-availability\.cluster-id cannot be set in a FlinkDeployment/],
    [['-Dkubernetes.jobmanager.replicas=2'], /kubernetes\.jobmanager\.replicas=2 needs JobManager high availability/],
    [['-Dkubernetes.jobmanager.cpu.amount=lots'], /kubernetes\.jobmanager\.cpu\.amount must be a positive number/],
  ];
  for (const [args, message] of refused) {
    const result = await render(...args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, message);
  }
  const legacyDir = await render('--upgrade-mode', 'last-state', ...ha, '-Dstate.checkpoints.dir=s3://b/cp');
  t.is(legacyDir.code, 0, legacyDir.stderr);
});

test('a PVC mounted with subPath at the base dir: the init container mounts it the same way', async (t) => {
  const dir = await tempDir();
  const template = await writeFixture(
    join(dir, 'jm.yaml'),
    [
      'apiVersion: v1',
      'kind: Pod',
      'spec:',
      '  containers:',
      '    - name: flink-main-container',
      '      volumeMounts:',
      '        - name: shared',
      '          mountPath: /opt/flink/artifacts',
      '          subPath: artifacts',
      '  volumes:',
      '    - name: shared',
      '      persistentVolumeClaim:',
      '        claimName: flink-shared',
      '',
    ].join('\n'),
  );
  const result = await runCli(['render', ...base, `-Dkubernetes.pod-template-file.jobmanager=${template}`, 's3://bucket/job.jar']);
  t.is(result.code, 0, result.stderr);
  const pod = parse(result.stdout) as IPod;
  t.deepEqual(fetcherOf(pod).volumeMounts![0], { name: 'shared', mountPath: '/opt/flink/artifacts', subPath: 'artifacts' });
  t.deepEqual(pod.spec!.volumes!.map((v) => v.name), ['shared']);
});

test('secrets given with -D: kept where Flink reads them, never in the init container; the warning says where each ends up', async (t) => {
  const secret = 'sEcReT-marker-7d1f';
  const args = ['-Ds3.access-key=AKIAMARKER', `-Ds3.secret-key=${secret}`, '-Dcontainerized.master.env.AWS_SECRET_ACCESS_KEY=env-marker-9c2e', 's3://bucket/job.jar'];
  const operator = await runCli(['render', '--format', 'flinkdeployment', ...base, ...args]);
  t.is(operator.code, 0, operator.stderr);
  const resource = parse(operator.stdout) as FlinkDeployment;
  t.is(resource.spec.flinkConfiguration['s3.secret-key'], secret, 'the manifest is data, not masked by substring');
  t.false(JSON.stringify(resource.spec.jobManager.podTemplate).includes(secret));
  t.false(JSON.stringify(resource.spec.jobManager.podTemplate).includes('env-marker-9c2e'));
  t.regex(operator.stderr, /containerized\.master\.env\.AWS_SECRET_ACCESS_KEY, s3\.access-key, s3\.secret-key are given as literal values: they are written into the FlinkDeployment's spec\.flinkConfiguration/);
  t.false(operator.stderr.includes(secret));

  const job = await runCli(['render', '--format', 'deployment', ...base, ...args]);
  const main = (parse(job.stdout) as JobOrDeployment).spec!.template.spec!.containers.find((c) => c.name === 'flink-main-container')!;
  t.true(main.args!.includes(`-Ds3.secret-key=${secret}`));
  t.regex(job.stderr, /written into the Job's container arguments/);
});

test('no fetcher image: exit 2 with how to build one; flink-artifacts.fetcher.image in the config file works', async (t) => {
  const missing = await runCli(['render', '-Dkubernetes.cluster-id=app', 's3://bucket/job.jar']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /no image for the init container/);
  t.regex(missing.stderr, /hint: build and push it .*docker build -f docker\/Dockerfile/);
  const conf = await tempDir();
  await writeFixture(join(conf, 'config.yaml'), `flink-artifacts:\n  fetcher:\n    image: ${IMAGE}\n`);
  const fromConf = await runCli(['render', '--conf-dir', conf, '-Dkubernetes.cluster-id=app', 's3://bucket/job.jar']);
  t.is(fromConf.code, 0, fromConf.stderr);
  t.is(fetcherOf(parse(fromConf.stdout) as IPod).image, IMAGE);
  const empty = await runCli(['render', '-Dkubernetes.cluster-id=app', '--fetcher-image', '', 's3://bucket/job.jar']);
  t.is(empty.code, 2);
});

test('refused at render time, exit 2: plain http, bad names, a name clash, a bad quantity, a CA file the pod cannot read, a missing output dir, --format without a value', async (t) => {
  const cases: [string[], RegExp][] = [
    [['render', ...base, 'http://repo/job.jar'], /plain http is disabled: http:\/\/repo\/job\.jar/],
    [['render', ...base, '--init-container-name', 'Bad_Name', 's3://b/j.jar'], /--init-container-name "Bad_Name" is not a valid Kubernetes name/],
    [['render', ...base, '--volume-size-limit', '2GB', 's3://b/j.jar'], /--volume-size-limit "2GB" is not a Kubernetes quantity/],
    [['render', ...base, '-Dflink-artifacts.tls.ca-file=/home/me/ca.pem', 's3://b/j.jar'], /flink-artifacts\.tls\.ca-file \/home\/me\/ca\.pem is a file on this machine/],
    [['render', ...base, '-o', '/missing/dir/x.yaml', 's3://b/j.jar'], /cannot write \/missing\/dir\/x\.yaml: the directory \/missing\/dir does not exist/],
    [['render', ...base, '--format', 's3://b/j.jar'], /format/],
    [['render', '--format'], /format/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, pattern, args.join(' '));
  }
  const dir = await tempDir();
  const clash = await writeFixture(join(dir, 'jm.yaml'), 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: flink-main-container\n    - name: fetcher\n      image: x\n');
  const result = await runCli(['render', ...base, '--init-container-name', 'fetcher', `-Dkubernetes.pod-template-file.jobmanager=${clash}`, 's3://b/j.jar']);
  t.is(result.code, 2);
  t.regex(result.stderr, /already has a container named fetcher/);
  const ok = await runCli(['render', ...base, '-Duser.artifacts.raw-http-enabled=true', 'http://repo/job.jar']);
  t.is(ok.code, 0, ok.stderr);
});

test('the user\'s template is read from kubernetes.pod-template-file.*; bad templates exit 2 naming the file', async (t) => {
  const dir = await tempDir();
  const good = await writeFixture(join(dir, 'jm.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\nspec:\n  containers:\n    - name: sidecar\n      image: busybox\n');
  const rendered = await runCli(['render', ...base, `-Dkubernetes.pod-template-file.default=${good}`, 's3://b/job.jar']);
  t.is(rendered.code, 0, rendered.stderr);
  t.deepEqual((parse(rendered.stdout) as IPod).spec!.containers.map((c) => c.name), ['sidecar', 'flink-main-container']);
  const cases: [string, string, RegExp][] = [
    ['broken.yaml', 'spec: [unclosed\n', /broken\.yaml is not valid YAML/],
    ['deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\n', /deploy\.yaml is a Deployment, not a Pod/],
    ['two.yaml', 'kind: Pod\n---\nkind: Pod\n', /two\.yaml must hold exactly one YAML document/],
    ['typo.yaml', 'kind: Pod\nspec:\n  containers:\n    - name: flink-main-container\n      volumeMount: []\n', /typo\.yaml: unknown field "spec\.containers\[0\]\.volumeMount" in a Pod \(did you mean volumeMounts\?\)/],
  ];
  for (const [name, text, pattern] of cases) {
    const path = await writeFixture(join(dir, name), text);
    const result = await runCli(['render', ...base, `-Dkubernetes.pod-template-file.jobmanager=${path}`, 's3://b/job.jar']);
    t.is(result.code, 2, name);
    t.regex(result.stderr, pattern, name);
  }
});

test('render --check: a missing remote artifact fails on the laptop (exit 1)', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('rcheck');
  await s3.createBucket(bucket);
  const s3Args = [`-Ds3.endpoint=${s3.endpoint}`, `-Ds3.access-key=${s3.accessKey}`, `-Ds3.secret-key=${s3.secretKey}`];
  const missing = await runCli(['render', '--check', ...base, ...s3Args, `s3://${bucket}/nope.jar`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /1 of 1 remote artifacts cannot be fetched: s3:\/\/.*\/nope\.jar: not found/);
  t.is(missing.stdout, '', 'nothing rendered');
  await s3.put(bucket, 'job.jar', 'x');
  const present = await runCli(['render', '--check', ...base, ...s3Args, `s3://${bucket}/job.jar`]);
  t.is(present.code, 0, present.stderr);
});
