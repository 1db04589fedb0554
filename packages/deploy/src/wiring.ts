import {
  ConfigError,
  FlinkKeys,
  OssKeys,
  S3_KEYS,
  TransferKeys,
  formatFlinkList,
  isSensitiveKey,
  parseArtifactUri,
  parseFlinkBoolean,
  planFetch,
  plannedArtifacts,
  readArtifactList,
  readString,
  type ClusterLocation,
  type FlinkConfig,
  type PlannedArtifact,
} from '@flink-artifacts/core';
import { readSecretMounts } from './flink-secrets.ts';
import { FetcherKeys } from './keys.ts';

/** A CA bundle the init container reads from a ConfigMap or Secret key. */
export interface FetcherCa {
  readonly source: 'configMap' | 'secret';
  /** The ConfigMap or Secret. */
  readonly name: string;
  /** Its key holding the PEM bundle. */
  readonly key: string;
  /** Where the init container sees it. */
  readonly mountPath: string;
}

/** What the init container fetches and what Flink is told afterwards. */
export interface ArtifactWiring {
  readonly location: ClusterLocation;
  /**
   * Arguments after `flink-artifacts fetch` for the init container: the remote job URI, then
   * every option that changes a fetch, sorted. Never a secret.
   */
  readonly fetchArgs: string[];
  /** True when something remote must be fetched (otherwise no init container is needed). */
  readonly fetchesAnything: boolean;
  /** The job URI Flink gets: the fetched `local://` path, or the original when already local. */
  readonly jobUri: string | null;
  /** `user.artifacts.artifact-list` as Flink gets it. */
  readonly artifactList: string[];
  /** The CA the init container trusts, when it comes from a ConfigMap or Secret. */
  readonly ca: FetcherCa | undefined;
  /** Keys of the user's configuration whose values are credentials given literally. */
  readonly literalSecrets: string[];
  /** Things the user should know, whatever the format. */
  readonly warnings: string[];
}

/** Where the init container mounts a CA bundle from a ConfigMap or Secret. */
export const FETCHER_CA_DIR = '/etc/flink-artifacts/ca';

// Flink's own keys that change what or how the fetcher fetches, and are not secret. Credentials
// reach the init container from Secrets, never as arguments.
const FLINK_FETCH_KEYS: readonly string[] = [FlinkKeys.rawHttpEnabled, ...S3_KEYS.endpoint, ...S3_KEYS.pathStyleAccess, ...S3_KEYS.region, OssKeys.endpoint, OssKeys.region];
// Our own transfer options (`flink-artifacts.retry.*`, `.timeout.*`, ...) all reach the fetcher,
// except the deploy-time ones and the CA file, which is a path on this machine.
const OWN_PREFIX = 'flink-artifacts.';

/**
 * Decides the init container's fetch and rewrites every remote artifact to the `local://` path
 * it will have under `<base-dir>/<namespace>/<cluster-id>/`, so Flink's own fetcher finds it in
 * place. `local://` artifacts are in the Flink image already and stay as they are. Validates
 * exactly as the fetcher will (schemes, plain http, names, clashes), so that what would fail in
 * the pod fails here.
 *
 * @throws ConfigError, URI errors, RawHttpDisabledError, NameClashError, UnsafePathError.
 */
export function planWiring(config: FlinkConfig, jobUri?: string): ArtifactWiring {
  const plan = planFetch({ config, jobUri, cwd: '/' });
  const { location } = plan;
  const byRaw = new Map(plannedArtifacts(plan).map((item) => [item.uri.raw, item]));
  const flinkPath = (item: PlannedArtifact): string =>
    item.mode === 'download' ? `local://${location.clusterDir}/${encodeURIComponent(item.uri.fileName)}` : item.uri.raw;
  const remoteList = plan.artifacts.filter((item) => item.mode === 'download');
  const ca = readFetcherCa(config);

  const options = new Map<string, string>([
    [FlinkKeys.clusterId, location.clusterId],
    [FlinkKeys.namespace, location.namespace],
    [FlinkKeys.baseDir, location.baseDir],
  ]);
  if (remoteList.length > 0) options.set(FlinkKeys.artifactList, formatFlinkList(remoteList.map((item) => item.uri.raw)));
  for (const [key, value] of config) {
    const passed = FLINK_FETCH_KEYS.includes(key) || (key.startsWith(OWN_PREFIX) && !key.startsWith(FetcherKeys.prefix) && key !== TransferKeys.caFile);
    if (passed && !isSensitiveKey(key) && value.trim() !== '') options.set(key, value.trim());
  }
  if (!parseFlinkBoolean(config.get(FlinkKeys.rawHttpEnabled), FlinkKeys.rawHttpEnabled, false)) options.delete(FlinkKeys.rawHttpEnabled);
  const caFile = fetcherCaFile(config, ca);
  if (caFile !== undefined) options.set(TransferKeys.caFile, caFile);

  const fetchArgs = [
    ...(plan.job?.mode === 'download' ? [plan.job.uri.raw] : []),
    ...[...options.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => `-D${key}=${value}`),
  ];

  const warnings: string[] = [];
  const fileUris = [...byRaw.values()].filter((item) => item.uri.location.scheme === 'file').map((item) => item.uri.display);
  if (fileUris.length > 0) {
    warnings.push(
      `${fileUris.join(', ')} ${fileUris.length === 1 ? 'is' : 'are'} read from the init container's own filesystem, not from this machine: ` +
        'it must be in the fetcher image or on a volume mounted in it',
    );
  }
  // A signed URL is a credential for as long as it lives; the init container must get it, so it
  // is written into the pod spec (and Flink's configuration) as it is.
  const signed = [...byRaw.values()].filter((item) => item.mode === 'download' && hasQuery(item.uri.raw)).map((item) => item.uri.display);
  if (signed.length > 0) {
    warnings.push(
      `${signed.join(', ')} ${signed.length === 1 ? 'carries a query string (a signed URL?): it is' : 'carry query strings (signed URLs?): they are'} written as given into the init container's ` +
        'arguments and Flink\'s configuration, readable by anyone who can read the pod or its ConfigMap until it expires; ' +
        'prefer a store the init container has credentials for (a Secret, workload identity), or a short expiry',
    );
  }
  return {
    location,
    fetchArgs,
    fetchesAnything: plan.job?.mode === 'download' || remoteList.length > 0,
    jobUri: plan.job === undefined ? null : flinkPath(plan.job),
    artifactList: readArtifactList(config).map((raw) => flinkPath(byRaw.get(parseArtifactUri(raw).raw)!)),
    ca,
    literalSecrets: [...config.keys()].filter((key) => isSensitiveKey(key) && readString(config, key) !== undefined).sort(),
    warnings,
  };
}

function hasQuery(raw: string): boolean {
  try {
    return new URL(raw).search !== '';
  } catch {
    return false;
  }
}

/** `<name>:<key>` of the CA ConfigMap or Secret options. @throws ConfigError naming the key. */
function readFetcherCa(config: FlinkConfig): FetcherCa | undefined {
  const configMap = readString(config, FetcherKeys.caConfigMap);
  const secret = readString(config, FetcherKeys.caSecret);
  if (configMap !== undefined && secret !== undefined) {
    throw new ConfigError(`set ${FetcherKeys.caConfigMap} or ${FetcherKeys.caSecret}, not both`, { key: FetcherKeys.caSecret });
  }
  const [key, value] = configMap !== undefined ? [FetcherKeys.caConfigMap, configMap] : secret !== undefined ? [FetcherKeys.caSecret, secret] : [];
  if (key === undefined || value === undefined) return undefined;
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*):([-._a-zA-Z0-9]+)$/.exec(value);
  if (match === null) {
    throw new ConfigError(`${key} must be <name>:<key>, e.g. corporate-ca:ca.crt, got ${JSON.stringify(value)}`, { key });
  }
  return { source: key === FetcherKeys.caConfigMap ? 'configMap' : 'secret', name: match[1]!, key: match[5]!, mountPath: FETCHER_CA_DIR };
}

/**
 * The CA file as the init container sees it: the mounted ConfigMap/Secret key, or
 * `flink-artifacts.tls.ca-file` when it lies in a Secret that `kubernetes.secrets` mounts. A CA
 * file anywhere else is a path on this machine that the pod cannot read.
 *
 * @throws ConfigError naming `flink-artifacts.tls.ca-file`.
 */
function fetcherCaFile(config: FlinkConfig, ca: FetcherCa | undefined): string | undefined {
  if (ca !== undefined) return `${ca.mountPath}/${ca.key}`;
  const caFile = readString(config, TransferKeys.caFile);
  if (caFile === undefined) return undefined;
  const mounted = readSecretMounts(config).some((mount) => caFile.startsWith(`${mount.path.replace(/\/+$/, '')}/`));
  if (mounted) return caFile;
  throw new ConfigError(`${TransferKeys.caFile} ${caFile} is a file on this machine; the init container cannot read it`, {
    key: TransferKeys.caFile,
    hint:
      `put the CA in a ConfigMap or Secret and name it: -D${FetcherKeys.caConfigMap}=<configmap>:<key> ` +
      `(or -D${FetcherKeys.caSecret}=<secret>:<key>), or mount a Secret with kubernetes.secrets and point ${TransferKeys.caFile} into it`,
  });
}
