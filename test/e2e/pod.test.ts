/**
 * The real wiring: a JobManager pod rendered by the deploy package, run with `podman kube play`.
 * The init container is the locally built fetcher image; it fetches from the real S3 server
 * (Ceph RGW), Azurite and an HTTP server on the host, over the host network. A stand-in
 * `flink-main-container` checks every file and its bytes under <base-dir>/<namespace>/<cluster-id>/.
 *
 * Needs the image: docker/build-local.sh (scripts/test.sh builds it). FA_E2E_IMAGE overrides it.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { stringify } from 'yaml';
import { renderPodTemplate } from '@flink-artifacts/deploy';
import { randomContent, sha256Hex, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { containerState, createSecret, podman } from '@flink-artifacts/test-helpers/podman';
import { useAzure } from '@flink-artifacts/test-helpers/azure';
import { useS3 } from '@flink-artifacts/test-helpers/s3';

const IMAGE = process.env.FA_E2E_IMAGE ?? 'localhost/flink-artifacts-fetcher:0.1.0';

test.before(async () => {
  const found = await podman(['image', 'exists', IMAGE]);
  if (found.code !== 0) throw new Error(`image ${IMAGE} not found: build it with docker/build-local.sh`);
});

interface Scenario {
  /** Every pod and volume gets this suffix: podman shares emptyDirs by name across pods. */
  id: string;
  podFile: string;
  podName: string;
  clusterDir: string;
}

/**
 * Renders the JobManager pod template as users would, then adapts it for a test host only
 * where podman needs it: host network (the servers are on the host's loopback), restartPolicy
 * Never (podman 4.3 loops init containers otherwise), keep init container logs, and a stand-in
 * main container that verifies the files.
 */
interface PodOptions {
  jobUri: string;
  artifactList: string[];
  expected: Record<string, string>;
  /** Flink options beyond the cluster's. */
  config: Record<string, string>;
  /** Credentials, by the environment variable the fetcher reads: put in a Secret, given with kubernetes.env.secretKeyRef. */
  secretEnv: Record<string, string>;
}

/** The S3 server's endpoint as options, its keys as Secret-backed variables. */
function s3Wiring(s3: Awaited<ReturnType<typeof useS3>>): Pick<PodOptions, 'config' | 'secretEnv'> {
  return {
    config: { 's3.endpoint': s3.endpoint, 's3.path.style.access': 'true' },
    secretEnv: { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey },
  };
}

async function playPod(t: ExecutionContext, options: PodOptions): Promise<Scenario & { play: Awaited<ReturnType<typeof podman>> }> {
  const id = randomBytes(4).toString('hex');
  const secret = `fa-e2e-creds-${id}`;
  const secretKey = (env: string) => env.toLowerCase().replace(/_/g, '-');
  await createSecret(secret, Object.fromEntries(Object.entries(options.secretEnv).map(([env, value]) => [secretKey(env), value])));
  const clusterId = `e2e-${id}`;
  const { manifest, wiring } = renderPodTemplate({
    config: new Map(
      Object.entries({
        'kubernetes.cluster-id': clusterId,
        'kubernetes.namespace': 'e2e',
        'user.artifacts.artifact-list': options.artifactList.join(';'),
        'user.artifacts.raw-http-enabled': 'true',
        ...options.config,
        'kubernetes.env.secretKeyRef': Object.keys(options.secretEnv).map((env) => `env:${env},secret:${secret},key:${secretKey(env)}`).join(';'),
      }),
    ),
    jobUri: options.jobUri,
    fetcherImage: IMAGE,
    fetcherImagePullPolicy: 'Never',
    volumeName: `fa-e2e-artifacts-${id}`,
  });
  const podName = `fa-e2e-${id}`;
  manifest.metadata = { name: podName, annotations: { 'io.podman.annotations.init.container.type': 'always' } };
  const spec = manifest.spec!;
  spec.hostNetwork = true;
  spec.restartPolicy = 'Never';
  const main = spec.containers.find((c) => c.name === 'flink-main-container')!;
  const clusterDir = wiring.location.clusterDir;
  main.image = IMAGE;
  main.imagePullPolicy = 'Never';
  main.command = [
    '/usr/local/bin/node',
    '-e',
    `const { createHash } = require('node:crypto'); const { readFileSync } = require('node:fs');
     const expected = ${JSON.stringify(options.expected)};
     let bad = 0;
     for (const [name, sha] of Object.entries(expected)) {
       const got = createHash('sha256').update(readFileSync(${JSON.stringify(clusterDir)} + '/' + name)).digest('hex');
       console.log(name, got === sha ? 'ok' : 'MISMATCH ' + got);
       if (got !== sha) bad++;
     }
     if (bad) process.exit(1);
     console.log('all artifacts verified');`,
  ];
  const dir = await tempDir('fa-e2e-');
  const podFile = join(dir, 'pod.yaml');
  await writeFile(podFile, stringify(manifest));
  t.teardown(async () => {
    await podman(['kube', 'play', '--down', podFile]);
    await podman(['volume', 'rm', '--force', `fa-e2e-artifacts-${id}`]);
    await podman(['secret', 'rm', secret]);
  });
  const play = await podman(['kube', 'play', podFile]);
  return { id, podFile, podName, clusterDir, play };
}

test('the init container fetches the job jar and the artifact list; the main container sees every byte', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('e2e');
  await s3.createBucket(bucket);
  const job = randomContent(1_500_000);
  const udf = randomContent(200_000);
  await s3.put(bucket, 'jobs/job.jar', job);
  await s3.put(bucket, 'libs/s3-udf.jar', udf);
  const root = await tempDir();
  const connector = randomContent(300_000);
  await writeFixture(join(root, 'connector.jar'), connector);
  const http = await startHttpServer({ root });
  t.teardown(() => http.stop());

  const pod = await playPod(t, {
    ...s3Wiring(s3),
    jobUri: `s3://${bucket}/jobs/job.jar`,
    artifactList: [`s3://${bucket}/libs/s3-udf.jar`, `${http.url}/connector.jar`],
    expected: { 'job.jar': sha256Hex(job), 's3-udf.jar': sha256Hex(udf), 'connector.jar': sha256Hex(connector) },
  });
  t.is(pod.play.code, 0, pod.play.stderr);
  const waited = await podman(['wait', `${pod.podName}-flink-main-container`]);
  t.is(waited.stdout.trim(), '0');
  const mainLogs = await podman(['logs', `${pod.podName}-flink-main-container`]);
  t.regex(mainLogs.stdout + mainLogs.stderr, /all artifacts verified/);
  const initLogs = await podman(['logs', `${pod.podName}-artifacts-fetcher`]);
  const fetched = initLogs.stdout + initLogs.stderr;
  t.regex(fetched, /fetched +s3:\/\/.*\/jobs\/job\.jar -> \/opt\/flink\/artifacts\/e2e\/e2e-[0-9a-f]+\/job\.jar/);
  t.regex(fetched, /3 fetched/);
  t.false(fetched.includes(s3.secretKey), 'the secret from the Secret is not logged');
});

test('from Azure Blob Storage (Azurite): the account key from a Secret, the job jar as abfss:// and an artifact as wasbs://', async (t) => {
  const azure = await useAzure();
  const container = uniqueBucket('e2e');
  await azure.createContainer(container);
  const job = randomContent(1_200_000);
  const udf = randomContent(90_000);
  await azure.put(container, 'jobs/job.jar', job);
  await azure.put(container, 'libs/azure-udf.jar', udf);
  const pod = await playPod(t, {
    config: azure.endpointOptions,
    secretEnv: { AZURE_STORAGE_KEY: azure.accountKey },
    jobUri: azure.uri(container, 'jobs/job.jar', 'abfss'),
    artifactList: [azure.uri(container, 'libs/azure-udf.jar', 'wasbs')],
    expected: { 'job.jar': sha256Hex(job), 'azure-udf.jar': sha256Hex(udf) },
  });
  t.is(pod.play.code, 0, pod.play.stderr);
  const waited = await podman(['wait', `${pod.podName}-flink-main-container`]);
  t.is(waited.stdout.trim(), '0');
  const initLogs = await podman(['logs', `${pod.podName}-artifacts-fetcher`]);
  const fetched = initLogs.stdout + initLogs.stderr;
  t.regex(fetched, /fetched +abfss:\/\/.*@devstoreaccount1\.dfs\.core\.windows\.net\/jobs\/job\.jar -> \/opt\/flink\/artifacts\/e2e\/e2e-[0-9a-f]+\/job\.jar/);
  t.regex(fetched, /2 fetched/);
  t.false(fetched.includes(azure.accountKey), 'the key from the Secret is not logged');
});

test('a missing artifact fails the init container and the main container never starts', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('e2e');
  await s3.createBucket(bucket);
  await s3.put(bucket, 'jobs/job.jar', 'job');
  const pod = await playPod(t, {
    ...s3Wiring(s3),
    jobUri: `s3://${bucket}/jobs/job.jar`,
    artifactList: [`s3://${bucket}/libs/missing.jar`],
    expected: { 'job.jar': sha256Hex('job') },
  });
  t.not(pod.play.code, 0, 'kube play reports the failed init container');
  const main = await containerState(`${pod.podName}-flink-main-container`);
  t.is(main?.status, 'created', 'the main container was never started');
  const init = await containerState(`${pod.podName}-artifacts-fetcher`);
  t.is(init?.exitCode, 1);
  const initLogs = await podman(['logs', `${pod.podName}-artifacts-fetcher`]);
  t.regex(initLogs.stdout + initLogs.stderr, /missing\.jar: object does not exist/);
});
