import { ConfigError, TemplateError, isCredentialEnvName, readString, type FlinkConfig } from '@flink-artifacts/core';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { literalArg } from './container-args.ts';
import { readMasterEnv, readSecretEnv, readSecretMounts } from './flink-secrets.ts';
import { FetcherKeys } from './keys.ts';
import { checkPodStrict } from './validate.ts';
import { literalSecretWarnings } from './warnings.ts';
import { planWiring, type ArtifactWiring } from './wiring.ts';

/** The name Flink requires for the main container. */
export const MAIN_CONTAINER = 'flink-main-container';
/** Default name of the init container. */
export const DEFAULT_INIT_CONTAINER = 'artifacts-fetcher';
/** Default name of the shared volume. */
export const DEFAULT_VOLUME = 'flink-artifacts';
/** Name of the volume holding the fetcher's CA bundle, when it comes from a ConfigMap or Secret. */
export const CA_VOLUME = 'flink-artifacts-ca';
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
  /**
   * The init container's image, pushed where the cluster can pull it. There is no default: a
   * name without a registry would leave the pod in ImagePullBackOff.
   * @default the value of `flink-artifacts.fetcher.image`
   */
  readonly fetcherImage?: string | undefined;
  /** @default "artifacts-fetcher" */
  readonly initContainerName?: string | undefined;
  /** @default "flink-artifacts" */
  readonly volumeName?: string | undefined;
  /** emptyDir size limit, a Kubernetes quantity such as "2Gi". @default none */
  readonly volumeSizeLimit?: string | undefined;
  /** @default DEFAULT_FETCHER_RESOURCES */
  readonly fetcherResources?: IResourceRequirements | undefined;
  /** @default "IfNotPresent" */
  readonly fetcherImagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never' | undefined;
}

/** A pod as templates write it: apiVersion and kind may be left out. */
export type PodLike = Omit<IPod, 'apiVersion' | 'kind'> & { apiVersion?: string; kind?: string };

/** A user's pod template and where it came from (for messages). */
export interface PodTemplateSource {
  readonly template: unknown;
  /** The file it was read from. */
  readonly path: string;
}

/** The user's templates, by Flink's keys `kubernetes.pod-template-file.{jobmanager,taskmanager,default}`. */
export interface PodTemplates {
  readonly jobmanager?: PodTemplateSource | undefined;
  readonly taskmanager?: PodTemplateSource | undefined;
  readonly default?: PodTemplateSource | undefined;
}

/** Options of {@link renderPodTemplate}. */
export interface RenderPodTemplateOptions extends WiringOptions {
  readonly config: FlinkConfig;
  /** JOB_URI (remote, or already uploaded). @default the single entry of `pipeline.jars` */
  readonly jobUri?: string | undefined;
  /** The user's templates, parsed. */
  readonly templates?: PodTemplates | undefined;
}

/** A rendered manifest and what Flink must be told to use it. */
export interface Rendered<T> {
  readonly manifest: T;
  readonly wiring: ArtifactWiring;
  /** Things the user should know about this manifest. */
  readonly warnings: string[];
}

/**
 * The JobManager pod template for `kubernetes.pod-template-file.jobmanager`: the user's template
 * (`.jobmanager`, else `.default`, as Flink picks them) with every field kept, plus the fetcher
 * init container, the volume at `user.artifacts.base-dir` mounted in it exactly as in
 * `flink-main-container`, and the Secrets it needs.
 *
 * @throws TemplateError for a template that is not a Pod or already uses our names.
 * @throws ConfigError and URI errors for the options.
 */
export function renderPodTemplate(options: RenderPodTemplateOptions): Rendered<IPod> {
  const wiring = planWiring(options.config, options.jobUri);
  const source = options.templates?.jobmanager ?? options.templates?.default;
  const base = source === undefined ? undefined : checkTemplate(source);
  const pod = wireFetcher(base ?? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'jobmanager-pod-template' }, spec: { containers: [] } }, wiring, options.config, options, source?.path);
  if (base === undefined) {
    // Our own template reads in execution order: init containers, containers, volumes.
    const { initContainers, containers, volumes, ...rest } = pod.spec!;
    pod.spec = { ...(initContainers ? { initContainers } : {}), containers, ...(volumes ? { volumes } : {}), ...rest };
  }
  checkPodStrict(pod, 'the rendered pod template');
  const where = `bin/flink ships every option to the cluster in the ConfigMap flink-config-${wiring.location.clusterId}`;
  return { manifest: pod, wiring, warnings: [...wiring.warnings, ...literalSecretWarnings(wiring, where)] };
}

const POD_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec']);

/**
 * Checks that a parsed template is a Pod the API server would accept in strict mode (no unknown
 * fields), and returns a copy.
 *
 * @throws TemplateError naming the file.
 */
export function checkTemplate(source: PodTemplateSource): PodLike {
  const { template, path } = source;
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    throw new TemplateError(`pod template ${path} is not a YAML mapping`);
  }
  const { kind, apiVersion } = template as { kind?: unknown; apiVersion?: unknown };
  if (kind !== undefined && kind !== 'Pod') {
    throw new TemplateError(`pod template ${path} is a ${String(kind)}, not a Pod`, { hint: 'Flink pod templates are Pod manifests (kind: Pod)' });
  }
  if (apiVersion !== undefined && apiVersion !== 'v1') {
    throw new TemplateError(`pod template ${path} has apiVersion ${String(apiVersion)}; a Pod's is v1`);
  }
  // Not one of a Pod's own keys: some other file (a config file, a shadow-like file), not a
  // Pod with a typo; refused without quoting what it holds.
  if (!Object.keys(template).some((key) => POD_KEYS.has(key))) {
    throw new TemplateError(`pod template ${path} is not a Pod: it has none of a Pod's fields (apiVersion, kind, metadata, spec)`, {
      hint: 'Flink pod templates are Pod manifests (apiVersion: v1, kind: Pod)',
    });
  }
  const copy = structuredClone(template) as PodLike;
  try {
    checkPodStrict({ ...copy, apiVersion: 'v1', kind: 'Pod', spec: copy.spec ?? { containers: [] } }, `pod template ${path}`);
  } catch (error) {
    throw new TemplateError((error as Error).message, { cause: error });
  }
  return copy;
}

// Container and volume names are DNS-1123 labels.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// A Kubernetes quantity (resource.Quantity): a decimal number with a binary or decimal suffix or exponent.
const QUANTITY = /^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][-+]?\d+)?$/;

/** The options, checked: the API server would reject the pod, so we do first. @throws ConfigError */
function checkWiringOptions(options: WiringOptions, config: FlinkConfig): { image: string; initName: string; volumeName: string } {
  const image = options.fetcherImage ?? readString(config, FetcherKeys.image);
  if (image === undefined || image.trim() === '') {
    throw new ConfigError('no image for the init container', {
      key: FetcherKeys.image,
      hint:
        `build and push it where the cluster can pull it (docker/README.md: docker build -f docker/Dockerfile -t <registry>/flink-artifacts-fetcher:<tag> .), ` +
        `then pass --fetcher-image <registry>/flink-artifacts-fetcher:<tag> or set ${FetcherKeys.image} in Flink's config file`,
    });
  }
  if (/\s/.test(image)) throw new ConfigError(`the fetcher image ${JSON.stringify(image)} contains whitespace`, { key: FetcherKeys.image });
  const initName = options.initContainerName ?? DEFAULT_INIT_CONTAINER;
  const volumeName = options.volumeName ?? DEFAULT_VOLUME;
  for (const [what, name] of [
    ['--init-container-name', initName],
    ['--volume-name', volumeName],
  ] as const) {
    if (!DNS_LABEL.test(name) || name.length > 63) {
      throw new ConfigError(`${what} ${JSON.stringify(name)} is not a valid Kubernetes name`, {
        hint: 'a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
      });
    }
  }
  if (options.volumeSizeLimit !== undefined && !QUANTITY.test(options.volumeSizeLimit)) {
    throw new ConfigError(`--volume-size-limit ${JSON.stringify(options.volumeSizeLimit)} is not a Kubernetes quantity`, {
      hint: 'for example 2Gi, 512Mi or 5G (binary suffixes Ki, Mi, Gi, Ti; decimal k, M, G, T)',
    });
  }
  return { image, initName, volumeName };
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * The main container's mounts that decide what it sees at the base dir: the one that covers it
 * (the deepest mount at the base dir or above) and every mount inside it.
 */
function baseDirMounts(main: IContainer, baseDir: string): { covering: IVolumeMount | undefined; nested: IVolumeMount[] } {
  const mounts = (main.volumeMounts ?? []).map((m) => ({ mount: m, path: m.mountPath.replace(/(.)\/+$/, '$1') }));
  const covering = mounts
    .filter(({ path }) => isUnder(baseDir, path))
    .sort((a, b) => b.path.length - a.path.length)[0]?.mount;
  const nested = mounts.filter(({ path }) => path !== baseDir && isUnder(path, baseDir)).map(({ mount }) => mount);
  return { covering, nested };
}

/** A mount of the main container for the fetcher: same volume, path and sub-path, always writable. */
function fetcherMount(mount: IVolumeMount): IVolumeMount {
  return {
    name: mount.name,
    mountPath: mount.mountPath,
    ...(mount.subPath === undefined ? {} : { subPath: mount.subPath }),
    ...(mount.subPathExpr === undefined ? {} : { subPathExpr: mount.subPathExpr }),
  };
}

/**
 * Adds the fetcher to a pod (a copy). User fields are kept in their order; what we add goes
 * after them. A name we need that the pod already uses is an error, never a silent clobber.
 * The fetcher sees exactly what `flink-main-container` sees at the base dir: if the main
 * container mounts a volume there or above it (a PVC, with or without `subPath`), the fetcher
 * mounts the same volume at the same path with the same sub-path, plus any mount nested
 * inside; otherwise both get a new emptyDir at the base dir.
 */
export function wireFetcher(pod: PodLike, wiring: ArtifactWiring, config: FlinkConfig, options: WiringOptions, source = 'the pod template'): IPod {
  const { apiVersion, kind, ...rest } = structuredClone(pod);
  // A template that has apiVersion and kind keeps its key order; one that lacks them gets
  // them in front.
  const ordered = (apiVersion !== undefined && kind !== undefined ? structuredClone(pod) : { apiVersion: apiVersion ?? 'v1', kind: kind ?? 'Pod', ...rest }) as IPod;
  const spec = (ordered.spec ??= { containers: [] });
  spec.containers ??= [];
  if (!wiring.fetchesAnything) return ordered;

  const { image, initName, volumeName } = checkWiringOptions(options, config);
  const baseDir = wiring.location.baseDir;
  const containerNames = [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])].map((c) => c.name);
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
  const { covering, nested } = baseDirMounts(main, baseDir);
  const volumes = (spec.volumes ??= []);
  const secretMounts = readSecretMounts(config);
  const secretVolume = (secret: string): string => `fa-secret-${secret.replaceAll('.', '-')}`.slice(0, 63).replace(/-+$/, '');
  const ca = wiring.ca;
  const newVolumes: IVolume[] = [
    ...(covering === undefined
      ? [{ name: volumeName, emptyDir: options.volumeSizeLimit === undefined ? {} : { sizeLimit: options.volumeSizeLimit } }]
      : []),
    ...secretMounts.map((m) => ({ name: secretVolume(m.secret), secret: { secretName: m.secret } })),
    ...(ca === undefined
      ? []
      : [
          ca.source === 'configMap'
            ? { name: CA_VOLUME, configMap: { name: ca.name, items: [{ key: ca.key, path: ca.key }] } }
            : { name: CA_VOLUME, secret: { secretName: ca.name, items: [{ key: ca.key, path: ca.key }] } },
        ]),
  ];
  for (const volume of newVolumes) {
    if (volumes.some((v) => v.name === volume.name)) {
      throw new TemplateError(`${source} already has a volume named ${volume.name}`, {
        hint: volume.name === volumeName ? 'choose another name with --volume-name' : 'remove it; flink-artifacts declares this volume for its init container',
      });
    }
  }
  volumes.push(...newVolumes);
  if (covering === undefined) (main.volumeMounts ??= []).push({ name: volumeName, mountPath: baseDir });

  const mounts: IVolumeMount[] = [
    covering === undefined ? { name: volumeName, mountPath: baseDir } : fetcherMount(covering),
    ...nested.map(fetcherMount),
    ...secretMounts.map((m) => ({ name: secretVolume(m.secret), mountPath: m.path, readOnly: true })),
    ...(ca === undefined ? [] : [{ name: CA_VOLUME, mountPath: ca.mountPath, readOnly: true }]),
  ];
  const fetcher: IContainer = {
    name: initName,
    image,
    imagePullPolicy: options.fetcherImagePullPolicy ?? 'IfNotPresent',
    // The image's entrypoint is `flink-artifacts fetch`; these are its arguments.
    args: wiring.fetchArgs.map(literalArg),
    ...withEnv(fetcherEnv(config, main, mounts)),
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

function withEnv(env: IEnvVar[]): { env?: IEnvVar[] } {
  return env.length > 0 ? { env } : {};
}

/**
 * The init container's environment: `containerized.master.env.*` except credentials (never
 * literal in the init container), the Secret keys of `kubernetes.env.secretKeyRef`, and the
 * main container's variables that a copied `subPathExpr` refers to (`$(POD_NAME)`), so that the
 * sub-path expands the same in both containers.
 */
function fetcherEnv(config: FlinkConfig, main: IContainer, mounts: readonly IVolumeMount[]): IEnvVar[] {
  const env: IEnvVar[] = [
    ...readMasterEnv(config)
      .filter(({ name }) => !isCredentialEnvName(name))
      .map(({ name, value }) => ({ name, value })),
    ...readSecretEnv(config).map(({ env: name, secret, key }) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } })),
  ];
  const referenced = new Set(mounts.flatMap((m) => [...(m.subPathExpr ?? '').matchAll(/\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g)].map((match) => match[1]!)));
  for (const name of referenced) {
    const variable = main.env?.find((e) => e.name === name);
    if (variable !== undefined && !env.some((e) => e.name === name)) env.push(structuredClone(variable));
  }
  return env;
}
