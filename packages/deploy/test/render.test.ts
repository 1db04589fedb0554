import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TemplateError, ConfigError, NameClashError, RawHttpDisabledError, parseFlinkVersion } from '@flink-artifacts/core';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import {
  DEFAULT_INIT_CONTAINER,
  FETCHER_CA_DIR,
  checkDeploymentStrict,
  checkFlinkDeploymentStrict,
  checkJobStrict,
  checkPodStrict,
  mergePodTemplates,
  planWiring,
  renderDeployment,
  renderFlinkDeployment,
  renderPodTemplate,
  type PodTemplateSource,
} from '../src/index.ts';

function flink(options: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(options));
}

const IMAGE = 'registry.example.com/flink-artifacts-fetcher:0.1.0';
const options = {
  'kubernetes.cluster-id': 'my-app',
  'kubernetes.namespace': 'analytics',
  'user.artifacts.artifact-list': 's3://bucket/libs/udf.jar;https://repo.example.com/ext/connector.jar;local:///opt/flink/usrlib/in-image.jar',
  's3.endpoint': 'http://minio.storage:9000',
  's3.path.style.access': 'true',
  'kubernetes.env.secretKeyRef': 'env:AWS_ACCESS_KEY_ID,secret:s3-credentials,key:access-key;env:AWS_SECRET_ACCESS_KEY,secret:s3-credentials,key:secret-key',
  'kubernetes.secrets': 'gcp-sa:/var/secrets/google',
  'containerized.master.env.HTTPS_PROXY': 'http://proxy:3128',
  'parallelism.default': '4',
  'state.checkpoints.dir': 's3://bucket/checkpoints',
  'flink-artifacts.fetcher.image': IMAGE,
};
const jobUri = 's3://bucket/jobs/my-job.jar';

test('pod-template: snapshot of the default template with the fetcher wired in', (t) => {
  const { manifest, wiring } = renderPodTemplate({ config: flink(options), jobUri, fetcherImage: IMAGE, volumeSizeLimit: '2Gi' });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  t.is(wiring.jobUri, 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar');
  t.deepEqual(wiring.artifactList, [
    'local:///opt/flink/artifacts/analytics/my-app/udf.jar',
    'local:///opt/flink/artifacts/analytics/my-app/connector.jar',
    'local:///opt/flink/usrlib/in-image.jar',
  ]);
  checkPodStrict(manifest, 'test');
});

test('deployment: without high availability, a batch/v1 Job that is not restarted once the job finishes', (t) => {
  const { manifest } = renderDeployment({ config: flink(options), jobUri, job: { entryClass: 'com.example.Job', args: ['--input', 's3://in', '-s'] } });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  t.is(manifest.kind, 'Job');
  const job = manifest as IJob;
  checkJobStrict(job, 'test');
  const pod = job.spec!.template.spec!;
  t.is(pod.restartPolicy, 'OnFailure');
  const main = pod.containers.find((c) => c.name === 'flink-main-container')!;
  t.deepEqual(main.args!.slice(0, 5), ['standalone-job', '--jars', 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar', '--job-classname', 'com.example.Job']);
  t.true(main.args!.includes('-Duser.artifacts.artifact-list=local:///opt/flink/artifacts/analytics/my-app/udf.jar;local:///opt/flink/artifacts/analytics/my-app/connector.jar;local:///opt/flink/usrlib/in-image.jar'));
  t.deepEqual(main.args!.slice(-4), ['--', '--input', 's3://in', '-s'], 'the program\'s arguments come last, after --');
  t.false(main.args!.some((a) => a.startsWith('-Dflink-artifacts.fetcher.')), 'deploy-time options are not Flink\'s');
});

test('deployment: with high availability, a Deployment with --host $(POD_IP); -p, -s and -n reach standalone-job', (t) => {
  const config = flink({ ...options, 'high-availability.type': 'kubernetes', 'high-availability.storageDir': 's3://bucket/ha', 'kubernetes.service-account': 'flink-ha' });
  const { manifest } = renderDeployment({ config, jobUri, job: { parallelism: 8, savepointPath: 's3://bucket/sp/1', allowNonRestoredState: true } });
  t.is(manifest.kind, 'Deployment');
  const deployment = manifest as IDeployment;
  checkDeploymentStrict(deployment, 'test');
  const pod = deployment.spec!.template.spec!;
  t.is(pod.restartPolicy, 'Always');
  t.is(pod.serviceAccountName, 'flink-ha');
  const main = pod.containers.find((c) => c.name === 'flink-main-container')!;
  t.deepEqual(main.args!.slice(0, 3), ['standalone-job', '--host', '$(POD_IP)']);
  t.like(main.env!.find((e) => e.name === 'POD_IP'), { valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
  t.true(main.args!.includes('-Dparallelism.default=8'), '-p overrides parallelism.default');
  t.false(main.args!.includes('-Dparallelism.default=4'));
  t.deepEqual(main.args!.slice(main.args!.indexOf('--fromSavepoint'), main.args!.indexOf('--fromSavepoint') + 3), ['--fromSavepoint', 's3://bucket/sp/1', '--allowNonRestoredState']);
  // Asked for explicitly without HA, a Deployment comes with a warning.
  const { manifest: plain, warnings } = renderDeployment({ config: flink(options), jobUri, jobManagerKind: 'deployment' });
  t.is(plain.kind, 'Deployment');
  t.regex(warnings.join('\n'), /starts over from scratch/);
});

test('deployment: template args for the main container are an error; a restartPolicy the kind cannot have too', (t) => {
  const withArgs = { spec: { containers: [{ name: 'flink-main-container', args: ['jobmanager'] }] } };
  t.throws(() => renderDeployment({ config: flink(options), jobUri, templates: { jobmanager: { template: withArgs, path: '/t/jm.yaml' } } }), {
    instanceOf: TemplateError,
    message: /\/t\/jm\.yaml sets args for flink-main-container/,
  });
  t.throws(() => renderDeployment({ config: flink(options), jobUri, templates: { default: { template: { spec: { restartPolicy: 'Always', containers: [] } }, path: 'p.yaml' } } }), {
    instanceOf: TemplateError,
    message: /restartPolicy Always; a Job's pods take OnFailure or Never/,
  });
  t.throws(() => renderDeployment({ config: flink(options), jobUri, jobManagerKind: 'deployment', templates: { default: { template: { spec: { restartPolicy: 'Never', containers: [] } }, path: 'p.yaml' } } }), {
    instanceOf: TemplateError,
    message: /restartPolicy Never/,
  });
});

test('flinkdeployment: snapshot of an operator FlinkDeployment with jarURI on the fetched path', (t) => {
  const { manifest } = renderFlinkDeployment({ config: flink(options), jobUri, flinkVersion: parseFlinkVersion('v1_19') });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  t.is(manifest.spec.job?.jarURI, 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar');
  t.is(manifest.spec.job?.parallelism, 4);
  t.is(manifest.spec.flinkVersion, 'v1_19');
  t.is(manifest.spec.image, 'flink:1.19', 'the official image of the version when none is configured');
  t.is(manifest.spec.flinkConfiguration['kubernetes.cluster-id'], undefined, 'the operator sets it from metadata.name');
  t.is(manifest.spec.flinkConfiguration['flink-artifacts.fetcher.image'], undefined);
  checkFlinkDeploymentStrict(manifest, 'test');
});

test('flinkdeployment: job fields from Flink\'s run options; upgrade modes the operator would refuse are refused', (t) => {
  const job = { entryClass: 'com.example.Job', args: ['--input', 's3://in'], parallelism: 6, savepointPath: 's3://b/sp', allowNonRestoredState: true, upgradeMode: 'savepoint' as const };
  const config = flink({ ...options, 'execution.checkpointing.savepoint-dir': 's3://b/savepoints' });
  const { manifest } = renderFlinkDeployment({ config, jobUri, job });
  t.deepEqual(manifest.spec.job, {
    jarURI: 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar',
    entryClass: 'com.example.Job',
    args: ['--input', 's3://in'],
    parallelism: 6,
    initialSavepointPath: 's3://b/sp',
    allowNonRestoredState: true,
    upgradeMode: 'savepoint',
  });
  t.throws(() => renderFlinkDeployment({ config: flink(options), jobUri, job: { upgradeMode: 'savepoint' } }), { instanceOf: ConfigError, message: /savepoint directory/ });
  t.throws(() => renderFlinkDeployment({ config: flink(options), jobUri, job: { upgradeMode: 'last-state' } }), { instanceOf: ConfigError, message: /high availability/ });
  const ha = flink({ ...options, 'high-availability.type': 'kubernetes' });
  t.is(renderFlinkDeployment({ config: ha, jobUri, job: { upgradeMode: 'last-state' } }).manifest.spec.job?.upgradeMode, 'last-state');
});

test('flinkdeployment: flinkVersion from the option or the image tag, and only values the operator accepts', (t) => {
  const withImage = flink({ ...options, 'kubernetes.container.image.ref': 'flink:2.0.0-java17' });
  t.is(renderFlinkDeployment({ config: withImage, jobUri }).manifest.spec.flinkVersion, 'v2_0');
  t.is(renderFlinkDeployment({ config: withImage, jobUri, flinkVersion: parseFlinkVersion('2.1') }).manifest.spec.flinkVersion, 'v2_1');
  t.throws(() => renderFlinkDeployment({ config: flink(options), jobUri, flinkVersion: parseFlinkVersion('v1_12') }), { instanceOf: ConfigError, message: /no flinkVersion v1_12/ });
  const { warnings } = renderFlinkDeployment({ config: flink(options), jobUri, flinkVersion: parseFlinkVersion('1.14') });
  t.regex(warnings.join('\n'), /no longer supported/);
});

test('rendering is deterministic: same input, same output', (t) => {
  for (const render of [renderPodTemplate, renderDeployment, renderFlinkDeployment]) {
    const a = JSON.stringify(render({ config: flink(options), jobUri }).manifest);
    const b = JSON.stringify(render({ config: flink(Object.fromEntries(Object.entries(options).reverse())), jobUri }).manifest);
    t.is(a, b);
  }
});

const userTemplate = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'jobmanager-pod-template', labels: { team: 'data' }, annotations: { 'example.com/owner': 'data-team' } },
  spec: {
    serviceAccountName: 'flink',
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'flink', effect: 'NoSchedule' }],
    initContainers: [{ name: 'vault-agent', image: 'vault:1.15', args: ['agent', '-config=/etc/vault/config.hcl'] }],
    containers: [
      {
        name: 'flink-main-container',
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-XX:+UseG1GC' }],
        resources: { requests: { 'ephemeral-storage': '2048Mi' }, limits: { 'ephemeral-storage': '2048Mi' } },
        volumeMounts: [{ mountPath: '/opt/flink/log', name: 'flink-logs' }],
      },
      { name: 'sidecar-log-collector', image: 'sidecar-log-collector:latest', command: ['command-to-upload', '/remote/path/of/flink-logs/'], volumeMounts: [{ mountPath: '/flink-logs', name: 'flink-logs' }] },
    ],
    volumes: [{ name: 'flink-logs', emptyDir: {} }, { name: 'flink-volume-hostpath', hostPath: { path: '/tmp', type: 'Directory' } }],
  },
};


test('secrets: the user\'s configuration keeps them (Flink reads them), the init container never gets them, the warning says where they end up', (t) => {
  const config = flink({
    ...options,
    's3.access-key': 'AKIALITERAL',
    's3.secret-key': 'literal-secret',
    'user.artifacts.http-headers': 'Authorization:Bearer literal-token',
    'containerized.master.env.AWS_SECRET_ACCESS_KEY': 'env-literal-secret',
  });
  const secrets = ['AKIALITERAL', 'literal-secret', 'literal-token', 'env-literal-secret'];
  const podTemplate = renderPodTemplate({ config, jobUri });
  const text = JSON.stringify(podTemplate.manifest);
  for (const secret of secrets) t.false(text.includes(secret), secret);
  t.regex(podTemplate.warnings.join('\n'), /s3\.access-key, s3\.secret-key, user\.artifacts\.http-headers are given as literal values: bin\/flink ships every option to the cluster in the ConfigMap flink-config-my-app/);

  const job = renderDeployment({ config, jobUri }).manifest as IJob;
  const main = job.spec!.template.spec!.containers.find((c) => c.name === 'flink-main-container')!;
  t.true(main.args!.includes('-Ds3.secret-key=literal-secret'), 'Flink\'s own S3 filesystem needs it, as bin/flink would ship it');
  const fetcher = job.spec!.template.spec!.initContainers!.at(-1)!;
  for (const secret of secrets) t.false(JSON.stringify(fetcher).includes(secret), `init container: ${secret}`);
  t.regex(renderDeployment({ config, jobUri }).warnings.join('\n'), /written into the Job's container arguments/);

  const operator = renderFlinkDeployment({ config, jobUri });
  t.is(operator.manifest.spec.flinkConfiguration['s3.secret-key'], 'literal-secret');
  t.false(JSON.stringify(operator.manifest.spec.jobManager.podTemplate).includes('literal-secret'));
  t.regex(operator.warnings.join('\n'), /spec\.flinkConfiguration/);
  t.regex(operator.warnings.join('\n'), /env:AWS_SECRET_ACCESS_KEY,secret:<name>,key:<key>/);
});

test('credential variables of containerized.master.env are not copied into the init container; others are', (t) => {
  const config = flink({ ...options, 'containerized.master.env.AWS_SECRET_ACCESS_KEY': 'x-secret', 'containerized.master.env.AZURE_STORAGE_CONNECTION_STRING': 'x-conn', 'containerized.master.env.GOOGLE_APPLICATION_CREDENTIALS': '/var/secrets/google/key.json' });
  const { manifest, warnings } = renderPodTemplate({ config, jobUri });
  const env = manifest.spec!.initContainers!.at(-1)!.env!.map((e) => e.name);
  t.true(env.includes('HTTPS_PROXY'));
  t.true(env.includes('GOOGLE_APPLICATION_CREDENTIALS'), 'a path, not a credential');
  t.false(env.includes('AZURE_STORAGE_CONNECTION_STRING'));
  t.is(env.filter((name) => name === 'AWS_SECRET_ACCESS_KEY').length, 1, 'only the one from the Secret');
  t.regex(warnings.join('\n'), /containerized\.master\.env\.AWS_SECRET_ACCESS_KEY/);
});

test('a PVC mounted with subPath at the base dir: the fetcher mounts the same claim, path and subPath', (t) => {
  const template = {
    spec: {
      containers: [
        {
          name: 'flink-main-container',
          env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          volumeMounts: [
            { name: 'shared', mountPath: '/opt/flink/artifacts', subPath: 'artifacts', readOnly: true },
            { name: 'scratch', mountPath: '/opt/flink/artifacts/analytics/my-app/tmp', subPathExpr: '$(POD_NAME)' },
          ],
        },
      ],
      volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: 'flink-shared' } }, { name: 'scratch', emptyDir: {} }],
    },
  };
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template, path: 't.yaml' } } });
  const fetcher = manifest.spec!.initContainers!.at(-1)!;
  t.deepEqual(fetcher.volumeMounts!.slice(0, 2), [
    { name: 'shared', mountPath: '/opt/flink/artifacts', subPath: 'artifacts' },
    { name: 'scratch', mountPath: '/opt/flink/artifacts/analytics/my-app/tmp', subPathExpr: '$(POD_NAME)' },
  ]);
  t.like(fetcher.env!.find((e) => e.name === 'POD_NAME'), { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, 'the subPathExpr expands the same');
  t.deepEqual(manifest.spec!.volumes!.map((v) => v.name), ['shared', 'scratch', 'fa-secret-gcp-sa'], 'no emptyDir shadows the claim');
  t.is(manifest.spec!.containers[0]!.volumeMounts!.length, 2);
});

test('a volume mounted above the base dir is what the fetcher writes into, at the same path', (t) => {
  const template = {
    spec: {
      containers: [{ name: 'flink-main-container', volumeMounts: [{ name: 'data', mountPath: '/opt/flink', subPath: 'flink-home' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }],
    },
  };
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, templates: { default: { template, path: 't.yaml' } } });
  t.deepEqual(manifest.spec!.initContainers!.at(-1)!.volumeMounts![0], { name: 'data', mountPath: '/opt/flink', subPath: 'flink-home' });
});

test('every option that changes a fetch reaches the init container; deploy-time ones and secrets do not', (t) => {
  const config = flink({
    ...options,
    'flink-artifacts.retry.max-attempts': '9',
    'flink-artifacts.timeout.idle': '2 min',
    'flink-artifacts.timeout.connect': '5 s',
    'user.artifacts.raw-http-enabled': 'true',
    's3.endpoint.region': 'eu-west-1',
    's3.secret-key': 'nope',
    's3.access-key': 'nope2',
  });
  const { fetchArgs } = planWiring(config, jobUri);
  for (const arg of ['-Dflink-artifacts.retry.max-attempts=9', '-Dflink-artifacts.timeout.idle=2 min', '-Dflink-artifacts.timeout.connect=5 s', '-Duser.artifacts.raw-http-enabled=true', '-Ds3.endpoint.region=eu-west-1']) {
    t.true(fetchArgs.includes(arg), arg);
  }
  t.false(fetchArgs.some((arg) => arg.includes('fetcher.image') || arg.includes('nope')));
});

test('a CA for the fetcher: from a ConfigMap or Secret key, mounted; a file on this machine is refused', (t) => {
  const { manifest } = renderPodTemplate({ config: flink({ ...options, 'flink-artifacts.fetcher.tls.ca-config-map': 'corp-ca:ca.crt', 'flink-artifacts.tls.ca-file': '/home/me/ca.pem' }), jobUri });
  const fetcher = manifest.spec!.initContainers!.at(-1)!;
  t.true(fetcher.args!.includes(`-Dflink-artifacts.tls.ca-file=${FETCHER_CA_DIR}/ca.crt`));
  t.false(fetcher.args!.some((arg) => arg.includes('/home/me')));
  t.deepEqual(manifest.spec!.volumes!.find((v) => v.name === 'flink-artifacts-ca'), { name: 'flink-artifacts-ca', configMap: { name: 'corp-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  t.deepEqual(fetcher.volumeMounts!.at(-1), { name: 'flink-artifacts-ca', mountPath: FETCHER_CA_DIR, readOnly: true });

  const fromSecret = renderPodTemplate({ config: flink({ ...options, 'flink-artifacts.fetcher.tls.ca-secret': 'corp-ca:bundle.pem' }), jobUri }).manifest;
  t.like(fromSecret.spec!.volumes!.find((v) => v.name === 'flink-artifacts-ca'), { secret: { secretName: 'corp-ca' } });

  // Under a kubernetes.secrets mount, the path is the pod's: passed as it is.
  const inSecretMount = planWiring(flink({ ...options, 'flink-artifacts.tls.ca-file': '/var/secrets/google/ca.pem' }), jobUri);
  t.true(inSecretMount.fetchArgs.includes('-Dflink-artifacts.tls.ca-file=/var/secrets/google/ca.pem'));
  t.throws(() => planWiring(flink({ ...options, 'flink-artifacts.tls.ca-file': '/home/me/ca.pem' }), jobUri), {
    instanceOf: ConfigError,
    message: /flink-artifacts\.tls\.ca-file \/home\/me\/ca\.pem is a file on this machine/,
  });
  t.throws(() => planWiring(flink({ ...options, 'flink-artifacts.fetcher.tls.ca-config-map': 'no-key' }), jobUri), { instanceOf: ConfigError, message: /<name>:<key>/ });
});

test('what would fail in the pod fails at render time: plain http, bad names, a bad quantity, no image', (t) => {
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri: 'http://repo/job.jar' }), { instanceOf: RawHttpDisabledError });
  t.notThrows(() => renderPodTemplate({ config: flink({ ...options, 'user.artifacts.raw-http-enabled': 'true' }), jobUri: 'http://repo/job.jar' }));
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, initContainerName: 'Bad_Name' }), { instanceOf: ConfigError, message: /--init-container-name "Bad_Name" is not a valid Kubernetes name/ });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, volumeName: 'x'.repeat(64) }), { instanceOf: ConfigError, message: /--volume-name/ });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, volumeSizeLimit: '2GB' }), { instanceOf: ConfigError, message: /not a Kubernetes quantity/ });
  for (const good of ['2Gi', '500M', '1.5Gi', '1e3']) t.notThrows(() => renderPodTemplate({ config: flink(options), jobUri, volumeSizeLimit: good }), good);
  const noImage = { ...options } as Record<string, string>;
  delete noImage['flink-artifacts.fetcher.image'];
  const missing = t.throws(() => renderPodTemplate({ config: flink(noImage), jobUri }), { instanceOf: ConfigError, message: /no image for the init container/ });
  t.regex(missing.hint ?? '', /--fetcher-image/);
  t.throws(() => renderPodTemplate({ config: flink(noImage), jobUri, fetcherImage: '' }), { instanceOf: ConfigError });
  t.is(renderPodTemplate({ config: flink(noImage), jobUri, fetcherImage: 'r.example/f:1' }).manifest.spec!.initContainers!.at(-1)!.image, 'r.example/f:1');
  // Nothing remote: no image needed.
  t.notThrows(() => renderPodTemplate({ config: flink({ 'kubernetes.cluster-id': 'a' }), jobUri: 'local:///opt/flink/usrlib/job.jar' }));
});

test('strict validation: a field the Pod API does not define is refused, naming it and the likely intended one', (t) => {
  const typo = { spec: { containers: [{ name: 'flink-main-container', volumeMount: [] }] } };
  const error = t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: typo, path: '/t/typo.yaml' } } }), { instanceOf: TemplateError });
  t.regex(error.message, /\/t\/typo\.yaml: unknown field "spec\.containers\[0\]\.volumeMount" in a Pod \(did you mean volumeMounts\?\)/);
  // A Flink config file given as a template is no Pod, refused without quoting what it holds.
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: { 's3.secret-key': 'x', jobmanager: { memory: '1g' } }, path: '/t/config.yaml' } } }), {
    instanceOf: TemplateError,
    message: /^pod template \/t\/config\.yaml is not a Pod: it has none of a Pod's fields/,
  });
  // A Pod with a field too many: named, cut short when it is long.
  const long = { spec: { containers: [] }, ['x'.repeat(200)]: 1 };
  const cut = t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: long, path: '/t/long.yaml' } } }), { instanceOf: TemplateError });
  t.regex(cut.message, /unknown field "x{40}\.\.\."/);
});

test('the strict field table matches the installed kubernetes-models (regenerate after an upgrade)', (t) => {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'generate-k8s-fields.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--check'], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
});

test('flinkdeployment: .default goes to spec.podTemplate, .taskmanager to taskManager.podTemplate, the fetcher to the JobManager', (t) => {
  const common = { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'log-shipper', image: 'fluent-bit' }, { name: 'flink-main-container', volumeMounts: [{ name: 'logs', mountPath: '/opt/flink/log' }] }], volumes: [{ name: 'logs', emptyDir: {} }] } };
  const taskManager = { spec: { containers: [{ name: 'flink-main-container', resources: { limits: { 'ephemeral-storage': '8Gi' } } }] } };
  const jobManager = { spec: { initContainers: [{ name: 'vault-agent', image: 'vault:1.15' }], containers: [{ name: 'log-shipper', image: 'fluent-bit:2' }] } };
  const templates = {
    default: { template: common, path: '/t/default.yaml' },
    taskmanager: { template: taskManager, path: '/t/tm.yaml' },
    jobmanager: { template: jobManager, path: '/t/jm.yaml' },
  };
  for (const byName of [false, true]) {
    const config = flink({ ...options, 'kubernetes.operator.pod-template.merge-arrays-by-name': String(byName) });
    const { manifest } = renderFlinkDeployment({ config, jobUri, templates });
    t.deepEqual(manifest.spec.podTemplate, common);
    t.deepEqual(manifest.spec.taskManager.podTemplate, taskManager);
    const jm = manifest.spec.jobManager.podTemplate!;
    t.deepEqual(jm.spec!.initContainers!.map((c) => c.name), ['vault-agent', DEFAULT_INIT_CONTAINER]);
    t.is(jm.spec!.containers.find((c) => c.name === 'log-shipper')!.image, 'fluent-bit:2', 'the JobManager template wins over the default');
    // What the operator does next: merge spec.podTemplate under it. Nothing may change.
    t.deepEqual(mergePodTemplates(common, jm, byName), jm, `operator merge, byName=${byName}`);
    checkFlinkDeploymentStrict(manifest, 'test');
  }
  // Only .default: the JobManager's template is it, with the fetcher, so that the operator's
  // positional merge cannot pair our main container with the user's sidecar.
  const { manifest } = renderFlinkDeployment({ config: flink(options), jobUri, templates: { default: templates.default } });
  const jm = manifest.spec.jobManager.podTemplate!;
  t.deepEqual(jm.spec!.containers.map((c) => c.name), ['log-shipper', 'flink-main-container']);
  t.deepEqual(mergePodTemplates(common, jm, false), jm);
});

test('the FlinkDeployment schema refuses unknown fields and values the CRD does not allow', (t) => {
  const { manifest } = renderFlinkDeployment({ config: flink(options), jobUri });
  t.throws(() => checkFlinkDeploymentStrict({ ...manifest, spec: { ...manifest.spec, jobManger: {} } }, 'x'), { message: /\$\.spec\.jobManger is not a field/ });
  t.throws(() => checkFlinkDeploymentStrict({ ...manifest, spec: { ...manifest.spec, flinkVersion: 'v1_12' } }, 'x'), { message: /flinkVersion must be one of/ });
  t.throws(() => checkFlinkDeploymentStrict({ ...manifest, spec: { ...manifest.spec, job: { ...manifest.spec.job!, args: [1] } } }, 'x'), { message: /args must be a list of strings/ });
  t.throws(() => checkFlinkDeploymentStrict({ ...manifest, spec: { ...manifest.spec, flinkConfiguration: { a: 1 } } }, 'x'), { message: /flinkConfiguration must map names to strings/ });
});

/** Every key path of `subset` exists in `whole` with the same value, and keys keep their order. */
function assertKept(t: import('ava').ExecutionContext, subset: unknown, whole: unknown, path = '$'): void {
  if (Array.isArray(subset)) {
    t.true(Array.isArray(whole), path);
    subset.forEach((item, i) => assertKept(t, item, (whole as unknown[])[i], `${path}[${i}]`));
    return;
  }
  if (typeof subset === 'object' && subset !== null) {
    const wholeKeys = Object.keys(whole as object);
    const positions = Object.keys(subset).map((key) => wholeKeys.indexOf(key));
    t.false(positions.includes(-1), `${path}: a user field was dropped`);
    t.deepEqual(positions, [...positions].sort((a, b) => a - b), `${path}: user fields were reordered`);
    for (const [key, value] of Object.entries(subset)) assertKept(t, value, (whole as Record<string, unknown>)[key], `${path}.${key}`);
    return;
  }
  t.is(whole, subset, path);
}

test('merging keeps every user field in order: sidecars, tolerations, init containers, volumes, env', (t) => {
  const source: PodTemplateSource = { template: structuredClone(userTemplate), path: '/conf/jm-template.yaml' };
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: source } });
  assertKept(t, userTemplate, manifest);
  const spec = manifest.spec!;
  t.deepEqual(spec.initContainers!.map((c) => c.name), ['vault-agent', DEFAULT_INIT_CONTAINER], 'the user\'s init containers run first');
  t.deepEqual(spec.containers.map((c) => c.name), ['flink-main-container', 'sidecar-log-collector']);
  t.deepEqual(spec.volumes!.map((v) => v.name), ['flink-logs', 'flink-volume-hostpath', 'flink-artifacts', 'fa-secret-gcp-sa']);
  t.deepEqual(spec.containers[0]!.volumeMounts, [
    { mountPath: '/opt/flink/log', name: 'flink-logs' },
    { name: 'flink-artifacts', mountPath: '/opt/flink/artifacts' },
  ]);
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
});

test('a template without flink-main-container gets one; a template without apiVersion and kind gets them', (t) => {
  const { manifest } = renderPodTemplate({
    config: flink(options),
    jobUri,
    templates: { jobmanager: { template: { metadata: { name: 't' }, spec: { containers: [{ name: 'sidecar', image: 'x' }] } }, path: 't.yaml' } },
  });
  t.deepEqual(Object.keys(manifest).slice(0, 2), ['apiVersion', 'kind']);
  t.deepEqual(manifest.spec!.containers.map((c) => c.name), ['sidecar', 'flink-main-container']);
});

test('a volume the user already mounts at the base dir (a PVC) is reused, not shadowed', (t) => {
  const template = {
    apiVersion: 'v1',
    kind: 'Pod',
    spec: {
      containers: [{ name: 'flink-main-container', volumeMounts: [{ name: 'artifacts-pvc', mountPath: '/opt/flink/artifacts/' }] }],
      volumes: [{ name: 'artifacts-pvc', persistentVolumeClaim: { claimName: 'flink-artifacts' } }],
    },
  };
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template, path: 't.yaml' } } });
  t.deepEqual(manifest.spec!.volumes!.map((v) => v.name), ['artifacts-pvc', 'fa-secret-gcp-sa']);
  t.is(manifest.spec!.initContainers![0]!.volumeMounts![0]!.name, 'artifacts-pvc');
  t.is(manifest.spec!.containers[0]!.volumeMounts!.length, 1);
});

test('names we need that the template already uses are clear errors, never clobbered', (t) => {
  const withFetcher = structuredClone(userTemplate);
  withFetcher.spec.initContainers.push({ name: 'artifacts-fetcher', image: 'busybox', args: ['wget'] });
  const clash = t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: withFetcher, path: '/conf/t.yaml' } } }), { instanceOf: TemplateError });
  t.regex(clash.message, /\/conf\/t\.yaml already has a container named artifacts-fetcher/);

  const withVolume = structuredClone(userTemplate);
  withVolume.spec.volumes.push({ name: 'flink-artifacts', emptyDir: {} });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: withVolume, path: '/conf/t.yaml' } } }), {
    instanceOf: TemplateError,
    message: /already has a volume named flink-artifacts/,
  });
  t.notThrows(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: withVolume, path: '/conf/t.yaml' } }, volumeName: 'fetched-artifacts' }));
});

test('a template that is not a Pod, or not a valid one, is refused naming the file', (t) => {
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: { kind: 'Deployment' }, path: '/x/d.yaml' } } }), {
    instanceOf: TemplateError,
    message: /\/x\/d\.yaml is a Deployment, not a Pod/,
  });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: ['a'], path: '/x/list.yaml' } } }), { instanceOf: TemplateError, message: /not a YAML mapping/ });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, templates: { jobmanager: { template: { spec: { containers: 'oops' } }, path: '/x/bad.yaml' } } }), {
    instanceOf: TemplateError,
    message: /\/x\/bad\.yaml does not validate/,
  });
});

test('the Flink secret formats are honoured and malformed entries name their key', (t) => {
  t.throws(() => renderPodTemplate({ config: flink({ ...options, 'kubernetes.env.secretKeyRef': 'env:X,secret:s' }), jobUri }), {
    instanceOf: ConfigError,
    message: /kubernetes\.env\.secretKeyRef/,
  });
  t.throws(() => renderPodTemplate({ config: flink({ ...options, 'kubernetes.secrets': 'no-path' }), jobUri }), { instanceOf: ConfigError, message: /kubernetes\.secrets/ });
});

test('the same checks as the fetcher: clashes and bad URIs fail at render time', (t) => {
  t.throws(() => planWiring(flink({ ...options, 'user.artifacts.artifact-list': 's3://a/x.jar;s3://b/x.jar' })), { instanceOf: NameClashError });
  t.throws(() => planWiring(flink(options), 'ftp://h/x.jar'), { code: 'ERR_UNSUPPORTED_SCHEME' });
});

test('nothing remote to fetch: no init container, the template passes through', (t) => {
  const { manifest, wiring } = renderPodTemplate({ config: flink({ 'kubernetes.cluster-id': 'a' }), jobUri: 'local:///opt/flink/usrlib/job.jar' });
  t.false(wiring.fetchesAnything);
  t.is(manifest.spec!.initContainers, undefined);
  t.is(wiring.jobUri, 'local:///opt/flink/usrlib/job.jar');
});
