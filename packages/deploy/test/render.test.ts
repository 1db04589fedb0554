import test from 'ava';
import { TemplateError, ConfigError, NameClashError } from '@flink-artifacts/core';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  DEFAULT_INIT_CONTAINER,
  planWiring,
  renderDeployment,
  renderFlinkDeployment,
  renderPodTemplate,
  type PodTemplateSource,
} from '../src/index.ts';

function flink(options: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(options));
}

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
};
const jobUri = 's3://bucket/jobs/my-job.jar';

test('pod-template: snapshot of the default template with the fetcher wired in', (t) => {
  const { manifest, wiring } = renderPodTemplate({ config: flink(options), jobUri, fetcherImage: 'registry.example.com/flink-artifacts-fetcher:0.1.0', volumeSizeLimit: '2Gi' });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  t.is(wiring.jobUri, 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar');
  t.deepEqual(wiring.artifactList, [
    'local:///opt/flink/artifacts/analytics/my-app/udf.jar',
    'local:///opt/flink/artifacts/analytics/my-app/connector.jar',
    'local:///opt/flink/usrlib/in-image.jar',
  ]);
  new Pod(manifest).validate();
});

test('deployment: snapshot of a complete JobManager Deployment', (t) => {
  const { manifest } = renderDeployment({ config: flink(options), jobUri, entryClass: 'com.example.Job', fetcherImage: 'fetcher:test' });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  new Deployment(manifest).validate();
  const main = manifest.spec!.template.spec!.containers.find((c) => c.name === 'flink-main-container')!;
  t.deepEqual(main.args!.slice(0, 5), ['standalone-job', '--jars', 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar', '--job-classname', 'com.example.Job']);
  t.true(main.args!.includes('-Duser.artifacts.artifact-list=local:///opt/flink/artifacts/analytics/my-app/udf.jar;local:///opt/flink/artifacts/analytics/my-app/connector.jar;local:///opt/flink/usrlib/in-image.jar'));
});

test('flinkdeployment: snapshot of an operator FlinkDeployment with jarURI on the fetched path', (t) => {
  const { manifest } = renderFlinkDeployment({ config: flink(options), jobUri, fetcherImage: 'fetcher:test', flinkVersion: 'v1_19' });
  // As JSON text: ava orders keys in its own snapshots, and key order is part of what we promise.
  t.snapshot(JSON.stringify(manifest, null, 2));
  t.is(manifest.spec.job?.jarURI, 'local:///opt/flink/artifacts/analytics/my-app/my-job.jar');
  t.is(manifest.spec.job?.parallelism, 4);
  t.is(manifest.spec.flinkConfiguration['kubernetes.cluster-id'], undefined, 'the operator sets it from metadata.name');
  new Pod(manifest.spec.jobManager.podTemplate).validate();
});

test('rendering is deterministic: same input, same output', (t) => {
  for (const render of [renderPodTemplate, renderDeployment, renderFlinkDeployment]) {
    const a = JSON.stringify(render({ config: flink(options), jobUri }).manifest);
    const b = JSON.stringify(render({ config: flink(Object.fromEntries(Object.entries(options).reverse())), jobUri }).manifest);
    t.is(a, b);
  }
});

test('secrets never become literal values in a manifest; the user is told why', (t) => {
  const config = flink({ ...options, 's3.access-key': 'AKIALITERAL', 's3.secret-key': 'literal-secret', 'user.artifacts.http-headers': 'Authorization:Bearer literal-token' });
  for (const render of [renderPodTemplate, renderDeployment, renderFlinkDeployment]) {
    const { manifest, wiring } = render({ config, jobUri });
    const text = JSON.stringify(manifest);
    for (const secret of ['AKIALITERAL', 'literal-secret', 'literal-token']) t.false(text.includes(secret), secret);
    t.regex(wiring.warnings.join('\n'), /s3\.access-key, s3\.secret-key, user\.artifacts\.http-headers are not copied/);
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
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, template: source });
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
    template: { template: { metadata: { name: 't' }, spec: { containers: [{ name: 'sidecar', image: 'x' }] } }, path: 't.yaml' },
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
  const { manifest } = renderPodTemplate({ config: flink(options), jobUri, template: { template, path: 't.yaml' } });
  t.deepEqual(manifest.spec!.volumes!.map((v) => v.name), ['artifacts-pvc', 'fa-secret-gcp-sa']);
  t.is(manifest.spec!.initContainers![0]!.volumeMounts![0]!.name, 'artifacts-pvc');
  t.is(manifest.spec!.containers[0]!.volumeMounts!.length, 1);
});

test('names we need that the template already uses are clear errors, never clobbered', (t) => {
  const withFetcher = structuredClone(userTemplate);
  withFetcher.spec.initContainers.push({ name: 'artifacts-fetcher', image: 'busybox', args: ['wget'] });
  const clash = t.throws(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: withFetcher, path: '/conf/t.yaml' } }), { instanceOf: TemplateError });
  t.regex(clash.message, /\/conf\/t\.yaml already has a container named artifacts-fetcher/);

  const withVolume = structuredClone(userTemplate);
  withVolume.spec.volumes.push({ name: 'flink-artifacts', emptyDir: {} });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: withVolume, path: '/conf/t.yaml' } }), {
    instanceOf: TemplateError,
    message: /already has a volume named flink-artifacts/,
  });
  t.notThrows(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: withVolume, path: '/conf/t.yaml' }, volumeName: 'fetched-artifacts' }));
});

test('a template that is not a Pod, or not a valid one, is refused naming the file', (t) => {
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: { kind: 'Deployment' }, path: '/x/d.yaml' } }), {
    instanceOf: TemplateError,
    message: /\/x\/d\.yaml is a Deployment, not a Pod/,
  });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: ['a'], path: '/x/list.yaml' } }), { instanceOf: TemplateError, message: /not a YAML mapping/ });
  t.throws(() => renderPodTemplate({ config: flink(options), jobUri, template: { template: { spec: { containers: 'oops' } }, path: '/x/bad.yaml' } }), {
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

test('a Deployment refuses a template whose restartPolicy a Deployment cannot have', (t) => {
  t.throws(() => renderDeployment({ config: flink(options), jobUri, template: { template: { spec: { restartPolicy: 'Never', containers: [] } }, path: 'p.yaml' } }), {
    instanceOf: TemplateError,
    message: /restartPolicy Never/,
  });
});
