import {
  ASSUMED_FLINK_VERSION,
  ConfigError,
  configuredFlinkImage,
  firstSet,
  flinkImage,
  imageFlinkVersion,
  operatorFlinkVersion,
  operatorVersionWarning,
  parseFlinkBoolean,
  readString,
  type FlinkConfig,
  type FlinkVersion,
  type OperatorFlinkVersion,
} from '@flink-artifacts/core';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { checkFlinkDeploymentStrict } from './flink-deployment-schema.ts';
import { flinkOptionsFor } from './flink-options.ts';
import { checkUpgradeMode, highAvailabilityEnabled, positiveWholeNumber, resolveJob, type JobOptions, type UpgradeMode } from './job-options.ts';
import { mergePodTemplates } from './operator-merge.ts';
import { checkTemplate, wireFetcher, type PodLike, type Rendered, type RenderPodTemplateOptions } from './pod-template.ts';
import { literalSecretWarnings } from './warnings.ts';
import { planWiring } from './wiring.ts';

/**
 * CPU and memory of a FlinkDeployment's JobManager or TaskManager. No memory when Flink's
 * configuration sizes the process another way (`*.memory.flink.size`, heap sizes): the operator
 * would otherwise set a process size that contradicts it.
 */
export interface FlinkDeploymentResource {
  memory?: string;
  cpu: number;
}

/** `spec.job` of a FlinkDeployment, the fields we set. */
export interface FlinkDeploymentJob {
  jarURI: string;
  entryClass?: string;
  args?: string[];
  parallelism?: number;
  initialSavepointPath?: string;
  allowNonRestoredState?: boolean;
  upgradeMode: UpgradeMode;
}

/**
 * The Flink Kubernetes Operator's FlinkDeployment (flink.apache.org/v1beta1), the fields we
 * set, typed from the operator's CRD reference (no maintained model package exists for it) and
 * checked against the schema in flink-deployment-schema.ts.
 */
export interface FlinkDeployment {
  apiVersion: 'flink.apache.org/v1beta1';
  kind: 'FlinkDeployment';
  metadata: IObjectMeta;
  spec: {
    image: string;
    flinkVersion: OperatorFlinkVersion;
    serviceAccount: string;
    flinkConfiguration: Record<string, string>;
    /** `kubernetes.pod-template-file.default`: both JobManager and TaskManagers. */
    podTemplate?: PodLike;
    jobManager: { resource: FlinkDeploymentResource; replicas?: number; podTemplate?: PodLike };
    taskManager: { resource: FlinkDeploymentResource; podTemplate?: PodLike };
    job?: FlinkDeploymentJob;
  };
}

/** Options of {@link renderFlinkDeployment}. */
export interface RenderFlinkDeploymentOptions extends RenderPodTemplateOptions {
  /** The job: main class, arguments, parallelism, savepoint, upgrade mode. */
  readonly job?: JobOptions | undefined;
  /** The Flink version the cluster runs. @default read off the image tag, else 1.20 */
  readonly flinkVersion?: FlinkVersion | undefined;
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
  'kubernetes.jobmanager.cpu.amount',
  'kubernetes.jobmanager.cpu',
  'kubernetes.taskmanager.cpu.amount',
  'kubernetes.taskmanager.cpu',
  'kubernetes.jobmanager.replicas',
];

// Keys the operator refuses in spec.flinkConfiguration: it sets them from the resource itself.
const OPERATOR_FORBIDDEN_KEYS = ['high-availability.cluster-id'];

// Flink's other ways to size a process; with one of them and no process size, Flink derives it.
const OTHER_MEMORY_KEYS = {
  jobmanager: ['jobmanager.memory.flink.size', 'jobmanager.memory.heap.size'],
  taskmanager: ['taskmanager.memory.flink.size', 'taskmanager.memory.task.heap.size'],
};
// Flink's own defaults (the distribution's config.yaml), as the operator's examples use them.
const DEFAULT_PROCESS_SIZE = { jobmanager: '1600m', taskmanager: '1728m' };

/** The operator's switch between positional and by-name array merging of pod templates. */
export const MERGE_ARRAYS_BY_NAME = 'kubernetes.operator.pod-template.merge-arrays-by-name';

/**
 * A FlinkDeployment whose JobManager pod template carries the fetcher and whose `spec.job`
 * runs the fetched jar. Flink's templates map to the operator's fields:
 * `kubernetes.pod-template-file.default` to `spec.podTemplate`, `.jobmanager` to
 * `spec.jobManager.podTemplate` (with the fetcher), `.taskmanager` to
 * `spec.taskManager.podTemplate`. The operator merges `spec.podTemplate` under the JobManager's
 * template, so the one we emit is already that merge: merging it again changes nothing, by
 * position or by name.
 *
 * @throws TemplateError, ConfigError, URI errors.
 */
export function renderFlinkDeployment(options: RenderFlinkDeploymentOptions): Rendered<FlinkDeployment> {
  const { config, templates } = options;
  const wiring = planWiring(config, options.jobUri);
  const configuredImage = configuredFlinkImage(config);
  const version = options.flinkVersion ?? (configuredImage === undefined ? undefined : imageFlinkVersion(configuredImage)) ?? ASSUMED_FLINK_VERSION;
  const image = flinkImage(config, version);
  const flinkVersion = operatorFlinkVersion(version);
  const job = resolveJob(config, options.job);
  if (wiring.jobUri !== null) checkUpgradeMode(config, job.upgradeMode);
  for (const key of OPERATOR_FORBIDDEN_KEYS) {
    if (readString(config, key) !== undefined) {
      throw new ConfigError(`${key} cannot be set in a FlinkDeployment: the operator refuses it and sets it from the resource's name`, {
        key,
        hint: `remove ${key}; the cluster id (${wiring.location.clusterId}) names the resource`,
      });
    }
  }
  const jobManagerReplicas = replicas(config);

  const common = templates?.default === undefined ? undefined : checkTemplate(templates.default);
  const specific = templates?.jobmanager === undefined ? undefined : checkTemplate(templates.jobmanager);
  const taskManager = templates?.taskmanager === undefined ? undefined : checkTemplate(templates.taskmanager);
  const byName = parseFlinkBoolean(config.get(MERGE_ARRAYS_BY_NAME), MERGE_ARRAYS_BY_NAME, false);
  let jobManagerTemplate: PodLike | undefined = specific;
  if (wiring.fetchesAnything) {
    const base = common !== undefined && specific !== undefined ? (mergePodTemplates(common, specific, byName) as PodLike) : (specific ?? common ?? { spec: { containers: [] } });
    jobManagerTemplate = wireFetcher(base, wiring, config, options, templates?.jobmanager?.path ?? templates?.default?.path);
  }

  const { clusterId, namespace } = wiring.location;
  const excluded = wiring.jobUri === null ? MAPPED_KEYS : [...MAPPED_KEYS, 'parallelism.default'];
  const deployment: FlinkDeployment = {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: { name: clusterId, namespace },
    spec: {
      image,
      flinkVersion,
      serviceAccount: readString(config, 'kubernetes.service-account') ?? 'flink',
      flinkConfiguration: Object.fromEntries(flinkOptionsFor(config, wiring, excluded)),
      ...(common === undefined ? {} : { podTemplate: common }),
      jobManager: {
        resource: resource(config, 'jobmanager'),
        ...(jobManagerReplicas === undefined ? {} : { replicas: jobManagerReplicas }),
        ...(jobManagerTemplate === undefined ? {} : { podTemplate: jobManagerTemplate }),
      },
      taskManager: {
        resource: resource(config, 'taskmanager'),
        ...(taskManager === undefined ? {} : { podTemplate: taskManager }),
      },
      ...(wiring.jobUri === null
        ? {}
        : {
            job: {
              jarURI: wiring.jobUri,
              ...(job.entryClass === undefined ? {} : { entryClass: job.entryClass }),
              ...(job.args.length === 0 ? {} : { args: [...job.args] }),
              // The operator refuses a job without parallelism; 1 is Flink's parallelism.default.
              parallelism: job.parallelism ?? 1,
              ...(job.savepointPath === undefined ? {} : { initialSavepointPath: job.savepointPath }),
              ...(job.allowNonRestoredState ? { allowNonRestoredState: true } : {}),
              upgradeMode: job.upgradeMode,
            },
          }),
    },
  };
  checkFlinkDeploymentStrict(deployment, 'the rendered FlinkDeployment');
  const warnings = [...wiring.warnings, ...literalSecretWarnings(wiring, 'they are written into the FlinkDeployment\'s spec.flinkConfiguration')];
  const versionWarning = operatorVersionWarning(flinkVersion);
  if (versionWarning !== undefined) warnings.push(versionWarning);
  return { manifest: deployment, wiring, warnings };
}

function resource(config: FlinkConfig, component: 'jobmanager' | 'taskmanager'): FlinkDeploymentResource {
  const processSize = readString(config, `${component}.memory.process.size`);
  const sizedOtherwise = OTHER_MEMORY_KEYS[component].some((key) => readString(config, key) !== undefined);
  const memory = processSize ?? (sizedOtherwise ? undefined : DEFAULT_PROCESS_SIZE[component]);
  return { ...(memory === undefined ? {} : { memory }), cpu: cpu(config, component) };
}

// kubernetes.<component>.cpu.amount since Flink 1.17, kubernetes.<component>.cpu before.
function cpu(config: FlinkConfig, component: 'jobmanager' | 'taskmanager'): number {
  const set = firstSet(config, [`kubernetes.${component}.cpu.amount`, `kubernetes.${component}.cpu`]);
  if (set === undefined) return 1;
  const [key, value] = set;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new ConfigError(`${key} must be a positive number, got ${JSON.stringify(value)}`, { key });
  return n;
}

// Standby JobManagers need high availability, as the operator checks.
function replicas(config: FlinkConfig): number | undefined {
  const key = 'kubernetes.jobmanager.replicas';
  const value = readString(config, key);
  if (value === undefined) return undefined;
  const n = positiveWholeNumber(value, key);
  if (n > 1 && !highAvailabilityEnabled(config)) {
    throw new ConfigError(`${key}=${n} needs JobManager high availability`, { key, hint: 'set high-availability.type=kubernetes and high-availability.storageDir' });
  }
  return n;
}
