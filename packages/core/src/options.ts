import { isAbsolute, join, resolve } from 'node:path';
import type { FlinkConfig } from './config.ts';
import { checkEndpoint } from './endpoint.ts';
import { ConfigError } from './errors.ts';
import { parseFlinkBoolean, parseFlinkList, parseHttpHeaders } from './flink-values.ts';
import { ASSUMED_FLINK_VERSION, type FlinkVersion } from './flink-version.ts';

/** The Flink option keys this project reads, spelled as Flink spells them. */
export const FlinkKeys = {
  baseDir: 'user.artifacts.base-dir',
  namespace: 'kubernetes.namespace',
  clusterId: 'kubernetes.cluster-id',
  artifactList: 'user.artifacts.artifact-list',
  rawHttpEnabled: 'user.artifacts.raw-http-enabled',
  httpHeaders: 'user.artifacts.http-headers',
  pipelineJars: 'pipeline.jars',
  localUploadEnabled: 'kubernetes.artifacts.local-upload-enabled',
  localUploadTarget: 'kubernetes.artifacts.local-upload-target',
  localUploadOverwrite: 'kubernetes.artifacts.local-upload-overwrite',
} as const;

/** Flink's default for `user.artifacts.base-dir`. */
export const DEFAULT_BASE_DIR = '/opt/flink/artifacts';
/** Flink's default for `kubernetes.namespace`. */
export const DEFAULT_NAMESPACE = 'default';

// Flink validates the cluster id as a DNS-1123 label of at most 45 characters (it becomes part
// of service names); the namespace is a DNS-1123 label of at most 63.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CLUSTER_ID = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_CLUSTER_ID = 45;
const MAX_NAMESPACE = 63;

/** Where a cluster's artifacts go: `<base-dir>/<namespace>/<cluster-id>`. */
export interface ClusterLocation {
  readonly baseDir: string;
  readonly namespace: string;
  readonly clusterId: string;
  /** Absolute `<base-dir>/<namespace>/<cluster-id>`. */
  readonly clusterDir: string;
}

/** A config value with surrounding blanks removed; blank counts as unset. */
export function readString(config: FlinkConfig, key: string): string | undefined {
  const value = config.get(key)?.trim();
  return value === '' ? undefined : value;
}

/**
 * Reads base dir, namespace and cluster id, validated as Flink validates them.
 *
 * @param cwd resolves a relative base dir. @default process.cwd()
 * @throws ConfigError naming the key that is missing or malformed.
 */
export function readClusterLocation(config: FlinkConfig, cwd = process.cwd()): ClusterLocation {
  const clusterId = readString(config, FlinkKeys.clusterId);
  if (clusterId === undefined) {
    throw new ConfigError(`${FlinkKeys.clusterId} is required`, {
      key: FlinkKeys.clusterId,
      hint: `set -D${FlinkKeys.clusterId}=<name>: artifacts go to <base-dir>/<namespace>/<cluster-id>`,
    });
  }
  if (!CLUSTER_ID.test(clusterId) || clusterId.length > MAX_CLUSTER_ID) {
    throw new ConfigError(`${FlinkKeys.clusterId} ${JSON.stringify(clusterId)} is not a valid cluster id`, {
      key: FlinkKeys.clusterId,
      hint: `lowercase letters, digits and "-", starting with a letter, at most ${MAX_CLUSTER_ID} characters`,
    });
  }
  const namespace = readString(config, FlinkKeys.namespace) ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace) || namespace.length > MAX_NAMESPACE) {
    throw new ConfigError(`${FlinkKeys.namespace} ${JSON.stringify(namespace)} is not a valid Kubernetes namespace`, {
      key: FlinkKeys.namespace,
    });
  }
  const givenBaseDir = readString(config, FlinkKeys.baseDir) ?? DEFAULT_BASE_DIR;
  if (givenBaseDir.includes('\u0000')) throw new ConfigError(`${FlinkKeys.baseDir} contains a NUL byte`, { key: FlinkKeys.baseDir });
  // Flink joins the base dir as given; a ".." that we resolved away would put the files
  // somewhere else than where the JobManager looks.
  if (givenBaseDir.split(/[/\\]/).includes('..')) {
    throw new ConfigError(`${FlinkKeys.baseDir} ${JSON.stringify(givenBaseDir)} contains "..": give the directory itself`, { key: FlinkKeys.baseDir });
  }
  const baseDir = isAbsolute(givenBaseDir) ? resolve(givenBaseDir) : resolve(cwd, givenBaseDir);
  return { baseDir, namespace, clusterId, clusterDir: join(baseDir, namespace, clusterId) };
}

/**
 * The job jar URI: the one given on the command line, else the single entry of `pipeline.jars`.
 * Application mode runs exactly one jar, so several entries are an error.
 *
 * @throws ConfigError naming `pipeline.jars`.
 */
export function readJobUri(config: FlinkConfig, given?: string): string | undefined {
  if (given !== undefined && given.trim() !== '') return given.trim();
  const jars = parseFlinkList(config.get(FlinkKeys.pipelineJars), FlinkKeys.pipelineJars);
  if (jars.length > 1) {
    throw new ConfigError(`${FlinkKeys.pipelineJars} lists ${jars.length} jars; application mode takes exactly one`, {
      key: FlinkKeys.pipelineJars,
      hint: 'give the job jar as JOB_URI and the others in user.artifacts.artifact-list',
    });
  }
  return jars[0];
}

/** `user.artifacts.artifact-list` as a list of URIs. @throws ConfigError for empty entries. */
export function readArtifactList(config: FlinkConfig): string[] {
  return parseFlinkList(config.get(FlinkKeys.artifactList), FlinkKeys.artifactList);
}

/** HTTP settings shared by every HTTP(S) transfer. */
export interface HttpSettings {
  /** `user.artifacts.raw-http-enabled`. @default false */
  readonly rawHttpEnabled: boolean;
  /** `user.artifacts.http-headers`, sent with every HTTP(S) request. */
  readonly headers: Readonly<Record<string, string>>;
}

/** @throws ConfigError for a non-boolean flag or malformed headers. */
export function readHttpSettings(config: FlinkConfig): HttpSettings {
  return {
    rawHttpEnabled: parseFlinkBoolean(config.get(FlinkKeys.rawHttpEnabled), FlinkKeys.rawHttpEnabled, false),
    headers: parseHttpHeaders(config.get(FlinkKeys.httpHeaders), FlinkKeys.httpHeaders),
  };
}

/** S3 settings from Flink's S3 keys. Unset fields fall back to the AWS SDK's own defaults. */
export interface S3Settings {
  readonly endpoint: string | undefined;
  readonly pathStyleAccess: boolean | undefined;
  readonly accessKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly region: string | undefined;
}

// Flink's S3 filesystems read the same option under several prefixes (`s3.`, `s3a.`,
// `fs.s3a.`) and spellings; the first key set wins.
export const S3_KEYS = {
  endpoint: ['s3.endpoint', 's3a.endpoint', 'fs.s3a.endpoint'],
  pathStyleAccess: ['s3.path.style.access', 's3.path-style-access', 's3a.path.style.access', 'fs.s3a.path.style.access'],
  accessKey: ['s3.access-key', 's3.access.key', 's3a.access.key', 'fs.s3a.access.key'],
  secretKey: ['s3.secret-key', 's3.secret.key', 's3a.secret.key', 'fs.s3a.secret.key'],
  region: ['s3.endpoint.region', 's3.region', 's3a.endpoint.region', 'fs.s3a.endpoint.region'],
} as const;

/** The first of `keys` (a key and its older or alias names) that is set, with its value. */
export function firstSet(config: FlinkConfig, keys: readonly string[]): [string, string] | undefined {
  for (const key of keys) {
    const value = readString(config, key);
    if (value !== undefined) return [key, value];
  }
  return undefined;
}

/** @throws ConfigError when only one of access and secret key is set, or path style is not a boolean. */
export function readS3Settings(config: FlinkConfig): S3Settings {
  const pathStyle = firstSet(config, S3_KEYS.pathStyleAccess);
  const accessKey = firstSet(config, S3_KEYS.accessKey)?.[1];
  const secretKey = firstSet(config, S3_KEYS.secretKey)?.[1];
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    throw new ConfigError(`set both s3.access-key and s3.secret-key, or neither`, {
      key: accessKey === undefined ? 's3.access-key' : 's3.secret-key',
      hint: 'with neither, the AWS SDK default credential chain is used',
    });
  }
  const endpoint = firstSet(config, S3_KEYS.endpoint);
  return {
    endpoint: endpoint === undefined ? undefined : checkEndpoint(endpoint[1], endpoint[0], { bare: true }),
    pathStyleAccess: pathStyle === undefined ? undefined : parseFlinkBoolean(pathStyle[1], pathStyle[0], false),
    accessKey,
    secretKey,
    region: firstSet(config, S3_KEYS.region)?.[1],
  };
}

/** Keys whose values are credentials: never written into manifests or logs. */
export const SECRET_KEYS: readonly string[] = [...S3_KEYS.accessKey, ...S3_KEYS.secretKey, FlinkKeys.httpHeaders];

/**
 * The environment variable the fetcher reads extra HTTP headers from (same format as
 * `user.artifacts.http-headers`), so that a header carrying a token can come from a Secret via
 * `kubernetes.env.secretKeyRef` instead of a literal option.
 */
export const HTTP_HEADERS_ENV = 'FLINK_ARTIFACTS_HTTP_HEADERS';

/**
 * The configuration with secrets given through the environment folded in: headers from
 * {@link HTTP_HEADERS_ENV} are appended to `user.artifacts.http-headers` (so they win on a
 * repeated name).
 *
 * @throws ConfigError when the variable's value is malformed (naming the variable, not the value).
 */
export function withSecretEnvironment(config: FlinkConfig, env: Readonly<Record<string, string | undefined>>): FlinkConfig {
  const fromEnv = env[HTTP_HEADERS_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') return config;
  parseHttpHeaders(fromEnv, HTTP_HEADERS_ENV);
  const merged = new Map(config);
  const given = config.get(FlinkKeys.httpHeaders)?.trim();
  merged.set(FlinkKeys.httpHeaders, given ? `${given},${fromEnv}` : fromEnv);
  return merged;
}

/** Every configured value that is a credential, so that messages can mask it. */
export function secretValues(config: FlinkConfig): string[] {
  const secrets: string[] = [];
  for (const [key, value] of config) {
    if (key === FlinkKeys.httpHeaders || !isSensitiveKey(key)) continue;
    if (value.trim() !== '') secrets.push(value.trim());
  }
  const headers = config.get(FlinkKeys.httpHeaders);
  if (headers !== undefined) {
    try {
      for (const value of Object.values(parseHttpHeaders(headers, FlinkKeys.httpHeaders))) {
        if (value === '') continue;
        // And each word of it: a server may echo the token of `Bearer <token>` without the scheme.
        secrets.push(value, ...value.split(/\s+/).filter((word) => word !== value && word.length >= 8));
      }
    } catch {
      // Malformed headers fail elsewhere with their own error; nothing to mask then.
    }
  }
  return secrets;
}

/** The image the options name: `kubernetes.container.image.ref` (or its pre-1.17 name `kubernetes.container.image`). */
export function configuredFlinkImage(config: FlinkConfig): string | undefined {
  return readString(config, 'kubernetes.container.image.ref') ?? readString(config, 'kubernetes.container.image');
}

/**
 * The Flink image: the configured one, else the official image of the Flink version, as Flink
 * itself defaults to the image of its own version (`flink:1.20`, `flink:2.0`).
 */
export function flinkImage(config: FlinkConfig, version: FlinkVersion = ASSUMED_FLINK_VERSION): string {
  return configuredFlinkImage(config) ?? `flink:${version.major}.${version.minor}`;
}

/**
 * Environment variable names that carry credentials by convention (AWS, Azure, Alibaba Cloud,
 * tokens, passwords, our HTTP headers). `GOOGLE_APPLICATION_CREDENTIALS` is a file path, not a
 * credential, and is not one of them.
 */
export function isCredentialEnvName(name: string): boolean {
  if (name === 'GOOGLE_APPLICATION_CREDENTIALS') return false;
  return /SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_KEY|ACCOUNT_KEY|STORAGE_KEY|PRIVATE_KEY|CONNECTION_STRING|CREDENTIAL|HTTP_HEADERS|SAS/i.test(name);
}

// Keys that name Secrets rather than hold them.
const SECRET_REFERENCE_KEYS = new Set(['kubernetes.env.secretKeyRef', 'kubernetes.secrets', 'kubernetes.container.image.pull-secrets']);

/** Flink's `containerized.<master|taskmanager>.env.<NAME>` prefixes. */
export const CONTAINER_ENV_PREFIXES = ['containerized.master.env.', 'containerized.taskmanager.env.'] as const;

/**
 * Keys whose values Flink itself treats as sensitive and hides in its logs and web UI
 * (`GlobalConfiguration.isSensitive`: keys containing "password", "secret", "token", ...), plus
 * our own secret keys and the container environment variables that carry credentials.
 */
export function isSensitiveKey(key: string): boolean {
  if (SECRET_KEYS.includes(key)) return true;
  if (SECRET_REFERENCE_KEYS.has(key)) return false;
  for (const prefix of CONTAINER_ENV_PREFIXES) {
    if (key.startsWith(prefix)) return isCredentialEnvName(key.slice(prefix.length));
  }
  return /password|secret|token|apikey|api-key|auth-params|service-key|basic-auth|jaas\.config|http-headers|fs\.azure\.account\.key|fs\.azure\.sas\.|access\.key|access-key|accesskeysecret|private\.key|private-key/i.test(key);
}
