/**
 * The contract between render and fetch: the init container's arguments, read by the CLI's own
 * parser, must make the fetcher do exactly what the original options describe.
 */
import test from 'ava';
import { readHttpSettings, readS3Settings, readTransferPolicy, resolveFlinkConfig } from '@flink-artifacts/core';
import { renderPodTemplate } from '@flink-artifacts/deploy';
import { planFetch, plannedArtifacts, type FetchPlan } from '@flink-artifacts/fetcher';
import { dynamicProperties } from '../src/argv.ts';
import { parseCommandLine } from '../src/main.ts';

/** What a fetch does besides its plan: how it retries and times out, how it talks to S3 and HTTP (secrets aside). */
function settings(config: ReadonlyMap<string, string>): unknown {
  const { accessKey: _a, secretKey: _s, ...s3 } = readS3Settings(config);
  return { policy: readTransferPolicy(config), s3, rawHttp: readHttpSettings(config).rawHttpEnabled };
}

function summary(plan: FetchPlan): unknown {
  return {
    location: plan.location,
    downloads: plannedArtifacts(plan)
      .filter((item) => item.mode === 'download')
      .map((item) => ({ role: item.role, uri: item.uri.raw, sha256: item.uri.sha256, path: item.path })),
  };
}

const cases: Record<string, { options: Record<string, string>; jobUri?: string }> = {
  'S3 job, mixed list, custom base dir and namespace': {
    jobUri: 's3a://bucket/jobs/my job.jar',
    options: {
      'kubernetes.cluster-id': 'contract',
      'kubernetes.namespace': 'team-b',
      'user.artifacts.base-dir': '/data/artifacts',
      'user.artifacts.artifact-list': `gs://b/x.jar;'https://h/a;b/weird.jar';local:///opt/flink/usrlib/img.jar;s3://bucket/p.jar#sha256=${'ab'.repeat(32)}`,
      's3.endpoint': 'http://rgw:7480',
      'fs.s3a.path.style.access': 'true',
      's3.endpoint.region': 'eu-west-1',
      'flink-artifacts.retry.max-attempts': '7',
      'flink-artifacts.retry.deadline': '3 min',
      'flink-artifacts.timeout.connect': '5 s',
      'flink-artifacts.timeout.idle': '90 s',
    },
  },
  'job from pipeline.jars, raw http allowed, no list': {
    options: { 'kubernetes.cluster-id': 'c2', 'pipeline.jars': 'http://repo/job.jar', 'user.artifacts.raw-http-enabled': 'TRUE' },
  },
  'only artifacts, job already in the image': {
    jobUri: 'local:///opt/flink/usrlib/job.jar',
    options: { 'kubernetes.cluster-id': 'c3', 'user.artifacts.artifact-list': 'https://h/one.jar;https://h/two%20words.jar' },
  },
};

for (const [name, { options, jobUri }] of Object.entries(cases)) {
  test(`init container args give the same fetch plan: ${name}`, async (t) => {
    const config = new Map(Object.entries(options));
    const { manifest } = renderPodTemplate({ config, jobUri, fetcherImage: 'registry.example.com/fetcher:1' });
    const args = manifest.spec!.initContainers!.at(-1)!.args!;

    const parsed = await parseCommandLine(['fetch', ...args]);
    if (parsed.kind !== 'command') return t.fail(parsed.text);
    t.is(parsed.command, 'fetch');
    const fromArgs = await resolveFlinkConfig({ dynamicProperties: dynamicProperties(parsed.args.D), env: {} });
    const inPod = planFetch({ config: fromArgs.config, jobUri: parsed.args.jobUri as string | undefined, cwd: '/' });
    const original = planFetch({ config, jobUri, cwd: '/' });
    t.deepEqual(summary(inPod), summary(original));
    t.deepEqual(settings(fromArgs.config), settings(config), 'retries, timeouts, S3 endpoint and raw http reach the init container');
    t.true(summary(original) !== undefined && (summary(original) as { downloads: unknown[] }).downloads.length > 0);
  });
}
