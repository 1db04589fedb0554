import { ConfigError, readString, type FlinkConfig } from '@flink-artifacts/core';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { flinkImage, flinkOptionsFor } from './flink-options.ts';
import { renderPodTemplate, type Rendered, type RenderPodTemplateOptions } from './pod-template.ts';
import { validateObjectMeta, validatePod } from './validate.ts';

/**
 * The Flink Kubernetes Operator's FlinkDeployment (flink.apache.org/v1beta1), the fields we
 * set. Written from the operator's CRD reference; no maintained model package exists for it,
 * so its embedded pod template and metadata are schema-validated and the rest is typed here.
 */
export interface FlinkDeployment {
  apiVersion: 'flink.apache.org/v1beta1';
  kind: 'FlinkDeployment';
  metadata: IObjectMeta;
  spec: {
    image: string;
    flinkVersion: string;
    serviceAccount: string;
    flinkConfiguration: Record<string, string>;
    jobManager: { resource: { memory: string; cpu: number }; podTemplate: IPod };
    taskManager: { resource: { memory: string; cpu: number } };
    job?: { jarURI: string; entryClass?: string; parallelism: number; upgradeMode: 'stateless' };
  };
}

/** Options of {@link renderFlinkDeployment}. */
export interface RenderFlinkDeploymentOptions extends RenderPodTemplateOptions {
  readonly entryClass?: string | undefined;
  /** The operator's `flinkVersion` enum, e.g. `v1_20`, `v2_0`. @default "v1_20" */
  readonly flinkVersion?: string | undefined;
}

// Options the FlinkDeployment carries in its own fields, or the operator sets itself.
const MAPPED_KEYS = [
  'kubernetes.cluster-id',
  'kubernetes.namespace',
  'kubernetes.container.image',
  'kubernetes.container.image.ref',
  'kubernetes.service-account',
  'jobmanager.memory.process.size',
  'taskmanager.memory.process.size',
  'kubernetes.jobmanager.cpu',
  'kubernetes.taskmanager.cpu',
  'parallelism.default',
];

/**
 * A FlinkDeployment whose `spec.jobManager.podTemplate` carries the fetcher and whose
 * `spec.job.jarURI` is the fetched `local://` path.
 *
 * @throws TemplateError, ConfigError, URI errors.
 */
export function renderFlinkDeployment(options: RenderFlinkDeploymentOptions): Rendered<FlinkDeployment> {
  const { config } = options;
  const { manifest: podTemplate, wiring } = renderPodTemplate(options);
  const flinkVersion = options.flinkVersion ?? 'v1_20';
  if (!/^v\d+_\d+$/.test(flinkVersion)) throw new ConfigError(`--flink-version must look like v1_20, got ${JSON.stringify(flinkVersion)}`);
  const { clusterId, namespace } = wiring.location;
  const deployment: FlinkDeployment = {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: { name: clusterId, namespace },
    spec: {
      image: flinkImage(config),
      flinkVersion,
      serviceAccount: readString(config, 'kubernetes.service-account') ?? 'flink',
      flinkConfiguration: Object.fromEntries(flinkOptionsFor(config, wiring, MAPPED_KEYS)),
      jobManager: {
        resource: { memory: readString(config, 'jobmanager.memory.process.size') ?? '1600m', cpu: number(config, 'kubernetes.jobmanager.cpu', 1) },
        podTemplate,
      },
      taskManager: {
        resource: { memory: readString(config, 'taskmanager.memory.process.size') ?? '1728m', cpu: number(config, 'kubernetes.taskmanager.cpu', 1) },
      },
      ...(wiring.jobUri === null
        ? {}
        : {
            job: {
              jarURI: wiring.jobUri,
              ...(options.entryClass === undefined ? {} : { entryClass: options.entryClass }),
              parallelism: number(config, 'parallelism.default', 1),
              upgradeMode: 'stateless' as const,
            },
          }),
    },
  };
  validateObjectMeta(deployment.metadata, 'the FlinkDeployment metadata');
  validatePod(podTemplate, 'the FlinkDeployment pod template');
  return { manifest: deployment, wiring };
}

function number(config: FlinkConfig, key: string, fallback: number): number {
  const value = readString(config, key);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${key} must be a positive number, got ${JSON.stringify(value)}`, { key });
  return n;
}
