import { ConfigError, TemplateError, flinkImage, readString, type FlinkVersion } from '@flink-artifacts/core';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { literalArg } from './container-args.ts';
import { readMasterEnv, readSecretEnv, readSecretMounts } from './flink-secrets.ts';
import { flinkOptionsFor } from './flink-options.ts';
import { highAvailabilityEnabled, resolveJob, type JobOptions } from './job-options.ts';
import { MAIN_CONTAINER, checkTemplate, wireFetcher, type Rendered, type RenderPodTemplateOptions } from './pod-template.ts';
import { checkDeploymentStrict, checkJobStrict } from './validate.ts';
import { literalSecretWarnings } from './warnings.ts';
import { planWiring } from './wiring.ts';

/** The Kubernetes kinds a standalone application JobManager runs as. */
export const JOBMANAGER_KINDS = ['job', 'deployment'] as const;
export type JobManagerKind = (typeof JOBMANAGER_KINDS)[number];

/** Options of {@link renderDeployment}. */
export interface RenderDeploymentOptions extends RenderPodTemplateOptions {
  /** The job: main class, arguments, parallelism, savepoint. */
  readonly job?: JobOptions | undefined;
  /** The Flink version the cluster runs: the image when none is configured. @default 1.20 */
  readonly flinkVersion?: FlinkVersion | undefined;
  /**
   * A `batch/v1` Job (a finished job is not restarted) or an `apps/v1` Deployment (restarted
   * whatever happens). @default "deployment" with high availability, else "job"
   */
  readonly jobManagerKind?: JobManagerKind | undefined;
}

const FLINK_PORTS = [
  { name: 'rpc', containerPort: 6123 },
  { name: 'blob-server', containerPort: 6124 },
  { name: 'webui', containerPort: 8081 },
];

// Options the manifest carries in its own fields or that only a native-mode client reads.
const NOT_PASSED = ['kubernetes.secrets', 'kubernetes.env.secretKeyRef'];

/**
 * The JobManager of Flink's standalone application mode (`standalone-job --jars local://...`),
 * for users who do not go through `bin/flink`: as Flink's standalone Kubernetes docs run it, a
 * `batch/v1` Job with `restartPolicy: OnFailure` (a finished job stays finished); with high
 * availability, a Deployment (restarted until deleted, recovering from the HA store), with
 * `--host $(POD_IP)` as those docs do. The pod template with the fetcher, plus the main
 * container's image, arguments, ports, and the Secrets Flink would have added itself. The
 * TaskManagers, Service and RBAC stay the user's.
 *
 * @throws TemplateError, ConfigError, URI errors.
 */
export function renderDeployment(options: RenderDeploymentOptions): Rendered<IJob | IDeployment> {
  const { config } = options;
  const wiring = planWiring(config, options.jobUri);
  const source = options.templates?.jobmanager ?? options.templates?.default;
  const template = source === undefined ? undefined : checkTemplate(source);
  const ha = highAvailabilityEnabled(config);
  const kind = options.jobManagerKind ?? (ha ? 'deployment' : 'job');
  const job = resolveJob(config, options.job);
  const warnings = [...wiring.warnings];

  const givenMain = template?.spec?.containers?.find((c) => c.name === MAIN_CONTAINER);
  if (givenMain?.args !== undefined) {
    throw new TemplateError(`pod template ${source?.path} sets args for ${MAIN_CONTAINER}, which would replace the standalone-job command that runs the job`, {
      hint: `remove them: the job's arguments go after the jar (flink-artifacts render [OPTIONS] <jar> <program arguments>), Flink options as -D`,
    });
  }
  if (givenMain?.command !== undefined) {
    warnings.push(`pod template ${source?.path} sets a command for ${MAIN_CONTAINER}: it must still run the image's entrypoint with the arguments we give (standalone-job ...)`);
  }
  const restartPolicy = template?.spec?.restartPolicy;
  const allowed = kind === 'job' ? ['OnFailure', 'Never'] : ['Always'];
  if (restartPolicy !== undefined && !allowed.includes(restartPolicy)) {
    throw new TemplateError(`pod template ${source?.path} sets restartPolicy ${restartPolicy}; a ${kind === 'job' ? 'Job' : 'Deployment'}'s pods take ${allowed.join(' or ')}`);
  }

  const pod = wireFetcher(template ?? { spec: { containers: [] } }, wiring, config, options, source?.path);
  const spec = pod.spec!;
  const main = spec.containers.find((c) => c.name === MAIN_CONTAINER)!;
  const { clusterId, namespace } = wiring.location;

  main.image ??= flinkImage(config, options.flinkVersion);
  const overrides: Record<string, string> = job.parallelism === undefined ? {} : { 'parallelism.default': String(job.parallelism) };
  main.args = [
    'standalone-job',
    // The one reference for the kubelet to expand; everything else is passed as written.
    ...(ha ? ['--host', '$(POD_IP)'] : []),
    ...[
      ...(wiring.jobUri === null ? [] : ['--jars', wiring.jobUri]),
      ...(job.entryClass === undefined ? [] : ['--job-classname', job.entryClass]),
      ...(job.savepointPath === undefined ? [] : ['--fromSavepoint', job.savepointPath]),
      ...(job.allowNonRestoredState ? ['--allowNonRestoredState'] : []),
      ...flinkOptionsFor(config, wiring, NOT_PASSED, overrides).map(([key, value]) => `-D${key}=${value}`),
      // Everything after `--` is the program's, even when it looks like an option of standalone-job.
      ...(job.args.length > 0 ? ['--', ...job.args] : []),
    ].map(literalArg),
  ];
  const ports = (main.ports ??= []);
  for (const port of FLINK_PORTS) if (!ports.some((p) => p.containerPort === port.containerPort)) ports.push(port);
  // What Flink's own decorators add to its main container in native mode, and the pod IP that
  // `--host $(POD_IP)` needs with HA.
  const env = [
    ...(ha ? [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }] : []),
    ...readMasterEnv(config).map(({ name, value }) => ({ name, value })),
    ...readSecretEnv(config).map(({ env: name, secret, key }) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } })),
  ].filter((e) => !main.env?.some((existing) => existing.name === e.name));
  if (env.length > 0) (main.env ??= []).push(...env);
  for (const mount of readSecretMounts(config)) {
    const volume = spec.volumes?.find((v) => v.secret?.secretName === mount.secret);
    if (volume !== undefined && !main.volumeMounts?.some((m) => m.mountPath === mount.path)) {
      (main.volumeMounts ??= []).push({ name: volume.name, mountPath: mount.path, readOnly: true });
    }
  }
  const serviceAccount = readString(config, 'kubernetes.service-account');
  if (serviceAccount !== undefined && spec.serviceAccountName === undefined) spec.serviceAccountName = serviceAccount;
  spec.restartPolicy ??= kind === 'job' ? 'OnFailure' : 'Always';

  const labels = { app: clusterId, component: 'jobmanager' };
  const { apiVersion: _apiVersion, kind: _kind, metadata: podMetadata, ...podRest } = pod;
  const { name: _name, ...templateMetadata } = podMetadata ?? {};
  const podTemplate = { metadata: { ...templateMetadata, labels: { ...templateMetadata.labels, ...labels } }, ...(podRest as { spec: IPodSpec }) };
  const metadata = { name: clusterId, namespace, labels };
  const where = `they are written into the ${kind === 'job' ? 'Job' : 'Deployment'}'s container arguments and environment`;
  warnings.push(...literalSecretWarnings(wiring, where));

  if (kind === 'job') {
    const manifest: IJob = { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: { template: podTemplate } };
    checkJobStrict(manifest, 'the rendered Job');
    return { manifest, wiring, warnings };
  }
  if (!ha) warnings.push('a Deployment restarts the JobManager after the job finishes, and without high availability the job starts over from scratch; a Job (the default) does not');
  const manifest: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 1,
      // One JobManager: never two at once during a rollout.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels },
      template: podTemplate,
    },
  };
  checkDeploymentStrict(manifest, 'the rendered Deployment');
  return { manifest, wiring, warnings };
}

/** @throws ConfigError for a kind that is not one of {@link JOBMANAGER_KINDS}. */
export function parseJobManagerKind(value: string): JobManagerKind {
  if (!(JOBMANAGER_KINDS as readonly string[]).includes(value)) {
    throw new ConfigError(`--jobmanager-kind must be one of ${JOBMANAGER_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as JobManagerKind;
}
