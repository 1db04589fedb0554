import { TemplateError, type FlinkConfig } from '@flink-artifacts/core';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { readMasterEnv, readSecretEnv, readSecretMounts } from './flink-secrets.ts';
import { validatePod } from './validate.ts';
import { planWiring, type ArtifactWiring } from './wiring.ts';

/** The name Flink requires for the main container. */
export const MAIN_CONTAINER = 'flink-main-container';
/** Default name of the init container. */
export const DEFAULT_INIT_CONTAINER = 'artifacts-fetcher';
/** Default name of the shared volume. */
export const DEFAULT_VOLUME = 'flink-artifacts';
/** Default fetcher image: what docker/build-local.sh tags; publish your own build and pass it. */
export const DEFAULT_FETCHER_IMAGE = 'flink-artifacts-fetcher:0.1.0';
/**
 * Default resources of the init container: the fetcher's measured peak RSS is 110-150 MiB
 * (bench/RESULTS.md); no CPU limit, since throttling only slows hashing.
 */
export const DEFAULT_FETCHER_RESOURCES: IResourceRequirements = {
  requests: { cpu: '250m', memory: '192Mi' },
  limits: { memory: '384Mi' },
};

/** How the fetcher is wired into the pod. */
export interface WiringOptions {
  /** @default DEFAULT_FETCHER_IMAGE */
  readonly fetcherImage?: string;
  /** @default "artifacts-fetcher" */
  readonly initContainerName?: string;
  /** @default "flink-artifacts" */
  readonly volumeName?: string;
  /** emptyDir size limit, e.g. "2Gi". @default none */
  readonly volumeSizeLimit?: string;
  /** @default DEFAULT_FETCHER_RESOURCES */
  readonly fetcherResources?: IResourceRequirements;
  /** @default "IfNotPresent" */
  readonly fetcherImagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

/** A pod as templates write it: apiVersion and kind may be left out. */
export type PodLike = Omit<IPod, 'apiVersion' | 'kind'> & { apiVersion?: string; kind?: string };

/** A user's pod template and where it came from (for messages). */
export interface PodTemplateSource {
  readonly template: unknown;
  /** The file it was read from. */
  readonly path: string;
}

/** Options of {@link renderPodTemplate}. */
export interface RenderPodTemplateOptions extends WiringOptions {
  readonly config: FlinkConfig;
  /** JOB_URI (remote, or already uploaded). @default the single entry of `pipeline.jars` */
  readonly jobUri?: string | undefined;
  /** The user's template (`kubernetes.pod-template-file.jobmanager` or `.default`), parsed. */
  readonly template?: PodTemplateSource | undefined;
}

/** A rendered manifest and what Flink must be told to use it. */
export interface Rendered<T> {
  readonly manifest: T;
  readonly wiring: ArtifactWiring;
}

/**
 * The JobManager pod template for `kubernetes.pod-template-file.jobmanager`: the user's template
 * with every field kept, plus the fetcher init container, the shared volume mounted at
 * `user.artifacts.base-dir` in it and in `flink-main-container`, and the Secrets it needs.
 *
 * @throws TemplateError for a template that is not a Pod or already uses our names.
 * @throws ConfigError and URI errors for the options.
 */
export function renderPodTemplate(options: RenderPodTemplateOptions): Rendered<IPod> {
  const wiring = planWiring(options.config, options.jobUri);
  const base = options.template === undefined ? undefined : checkTemplate(options.template);
  const pod = wireFetcher(base ?? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'jobmanager-pod-template' }, spec: { containers: [] } }, wiring, options.config, options, options.template?.path);
  if (base === undefined) {
    // Our own template reads in execution order: init containers, containers, volumes.
    const { initContainers, containers, volumes, ...rest } = pod.spec!;
    pod.spec = { ...(initContainers ? { initContainers } : {}), containers, ...(volumes ? { volumes } : {}), ...rest };
  }
  validatePod(pod, 'the rendered pod template');
  return { manifest: pod, wiring };
}

/**
 * Checks that a parsed template is a Pod the API would accept, and returns a copy.
 *
 * @throws TemplateError naming the file.
 */
export function checkTemplate(source: PodTemplateSource): PodLike {
  const { template, path } = source;
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    throw new TemplateError(`pod template ${path} is not a YAML mapping`);
  }
  const kind = (template as { kind?: unknown }).kind;
  if (kind !== undefined && kind !== 'Pod') {
    throw new TemplateError(`pod template ${path} is a ${String(kind)}, not a Pod`, { hint: 'Flink pod templates are Pod manifests (kind: Pod)' });
  }
  const copy = structuredClone(template) as PodLike;
  try {
    validatePod({ ...copy, apiVersion: 'v1', kind: 'Pod', spec: copy.spec ?? { containers: [] } }, `pod template ${path}`);
  } catch (error) {
    throw new TemplateError((error as Error).message, { cause: error });
  }
  return copy;
}

/**
 * Adds the fetcher to a pod (a copy). User fields are kept in their order; what we add goes
 * after them. A name we need that the pod already uses is an error, never a silent clobber.
 * If `flink-main-container` already mounts a volume at the base dir (say a PVC), the fetcher
 * writes into that volume instead of a new emptyDir.
 */
export function wireFetcher(pod: PodLike, wiring: ArtifactWiring, config: FlinkConfig, options: WiringOptions, source = 'the pod template'): IPod {
  const { apiVersion, kind, ...rest } = structuredClone(pod);
  // A template that has apiVersion and kind keeps its key order; one that lacks them gets
  // them in front.
  const ordered = (apiVersion !== undefined && kind !== undefined ? structuredClone(pod) : { apiVersion: apiVersion ?? 'v1', kind: kind ?? 'Pod', ...rest }) as IPod;
  const spec = (ordered.spec ??= { containers: [] });
  spec.containers ??= [];
  if (!wiring.fetchesAnything) return ordered;

  const initName = options.initContainerName ?? DEFAULT_INIT_CONTAINER;
  const volumeName = options.volumeName ?? DEFAULT_VOLUME;
  const baseDir = wiring.location.baseDir;
  const containerNames = [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name);
  if (containerNames.includes(initName)) {
    throw new TemplateError(`${source} already has a container named ${initName}`, {
      hint: 'remove it (flink-artifacts replaces a hand-written fetcher) or choose another name with --init-container-name',
    });
  }

  let main = spec.containers.find((c) => c.name === MAIN_CONTAINER);
  if (main === undefined) {
    main = { name: MAIN_CONTAINER };
    spec.containers.push(main);
  }
  const existingMount = main.volumeMounts?.find((m) => m.mountPath.replace(/\/+$/, '') === baseDir);
  const sharedVolume = existingMount?.name ?? volumeName;
  const volumes = (spec.volumes ??= []);
  const secretMounts = readSecretMounts(config);
  const secretVolume = (secret: string): string => `fa-secret-${secret.replaceAll('.', '-')}`.slice(0, 63).replace(/-+$/, '');
  const newVolumes: IVolume[] = [
    ...(existingMount === undefined
      ? [{ name: volumeName, emptyDir: options.volumeSizeLimit === undefined ? {} : { sizeLimit: options.volumeSizeLimit } }]
      : []),
    ...secretMounts.map((m) => ({ name: secretVolume(m.secret), secret: { secretName: m.secret } })),
  ];
  for (const volume of newVolumes) {
    if (volumes.some((v) => v.name === volume.name)) {
      throw new TemplateError(`${source} already has a volume named ${volume.name}`, {
        hint: volume.name === volumeName ? 'choose another name with --volume-name' : 'remove it; flink-artifacts declares the volumes of kubernetes.secrets for its init container',
      });
    }
  }
  volumes.push(...newVolumes);
  if (existingMount === undefined) {
    (main.volumeMounts ??= []).push({ name: volumeName, mountPath: baseDir });
  }

  const mounts: IVolumeMount[] = [
    { name: sharedVolume, mountPath: baseDir },
    ...secretMounts.map((m) => ({ name: secretVolume(m.secret), mountPath: m.path, readOnly: true })),
  ];
  const env = [
    ...readMasterEnv(config).map(({ name, value }) => ({ name, value })),
    ...readSecretEnv(config).map(({ env: name, secret, key }) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } })),
  ];
  const fetcher: IContainer = {
    name: initName,
    image: options.fetcherImage ?? DEFAULT_FETCHER_IMAGE,
    imagePullPolicy: options.fetcherImagePullPolicy ?? 'IfNotPresent',
    // The image's entrypoint is `flink-artifacts fetch`; these are its arguments.
    args: wiring.fetchArgs,
    ...(env.length > 0 ? { env } : {}),
    resources: options.fetcherResources ?? DEFAULT_FETCHER_RESOURCES,
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: mounts,
  };
  (spec.initContainers ??= []).push(fetcher);
  return ordered;
}
