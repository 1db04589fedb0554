import { TemplateError } from '@flink-artifacts/core';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { readMasterEnv, readSecretEnv, readSecretMounts } from './flink-secrets.ts';
import { flinkImage, flinkOptionsFor } from './flink-options.ts';
import { MAIN_CONTAINER, checkTemplate, wireFetcher, type Rendered, type RenderPodTemplateOptions } from './pod-template.ts';
import { validateDeployment } from './validate.ts';
import { planWiring } from './wiring.ts';

/** Options of {@link renderDeployment}. */
export interface RenderDeploymentOptions extends RenderPodTemplateOptions {
  /** The job's main class, when the jar's manifest does not name it. */
  readonly entryClass?: string | undefined;
}

const FLINK_PORTS = [
  { name: 'rpc', containerPort: 6123 },
  { name: 'blob', containerPort: 6124 },
  { name: 'rest', containerPort: 8081 },
];

/**
 * A complete JobManager Deployment running Flink's standalone application mode
 * (`standalone-job --jars local://...`), for users who do not go through `bin/flink`: the pod
 * template with the fetcher, plus the main container's image, arguments, ports, and the
 * Secrets Flink would have added itself. The TaskManagers, Service and RBAC stay the user's.
 *
 * @throws TemplateError, ConfigError, URI errors.
 */
export function renderDeployment(options: RenderDeploymentOptions): Rendered<IDeployment> {
  const { config } = options;
  const wiring = planWiring(config, options.jobUri);
  const template = options.template === undefined ? undefined : checkTemplate(options.template);
  const restartPolicy = template?.spec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always') {
    throw new TemplateError(`pod template ${options.template?.path} sets restartPolicy ${restartPolicy}; a Deployment's pods restart Always`);
  }
  const pod = wireFetcher(template ?? { spec: { containers: [] } }, wiring, config, options, options.template?.path);
  const spec = pod.spec!;
  const main = spec.containers.find((c) => c.name === MAIN_CONTAINER)!;
  const { clusterId, namespace } = wiring.location;

  main.image ??= flinkImage(config);
  main.args ??= [
    'standalone-job',
    ...(wiring.jobUri === null ? [] : ['--jars', wiring.jobUri]),
    ...(options.entryClass === undefined ? [] : ['--job-classname', options.entryClass]),
    ...flinkOptionsFor(config, wiring, ['kubernetes.secrets', 'kubernetes.env.secretKeyRef']).map(([key, value]) => `-D${key}=${value}`),
  ];
  const ports = (main.ports ??= []);
  for (const port of FLINK_PORTS) if (!ports.some((p) => p.containerPort === port.containerPort)) ports.push(port);
  // What Flink's own decorators add to its main container in native mode.
  const env = [
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
  spec.restartPolicy ??= 'Always';

  const labels = { ...pod.metadata?.labels, app: clusterId, component: 'jobmanager' };
  const { apiVersion: _apiVersion, kind: _kind, metadata: podMetadata, ...podRest } = pod;
  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: clusterId, namespace, labels: { app: clusterId, component: 'jobmanager' } },
    spec: {
      replicas: 1,
      // One JobManager: never two at once during a rollout.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: clusterId, component: 'jobmanager' } },
      template: { metadata: { ...podMetadata, labels }, ...podRest },
    },
  };
  if (deployment.spec!.template.metadata && 'name' in deployment.spec!.template.metadata) delete deployment.spec!.template.metadata.name;
  validateDeployment(deployment, 'the rendered Deployment');
  return { manifest: deployment, wiring };
}
