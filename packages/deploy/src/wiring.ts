import {
  FlinkKeys,
  S3_KEYS,
  SECRET_KEYS,
  assertNoNameClash,
  formatFlinkList,
  parseArtifactUri,
  parseFlinkBoolean,
  readArtifactList,
  readClusterLocation,
  readJobUri,
  readString,
  type ArtifactUri,
  type ClusterLocation,
  type FlinkConfig,
} from '@flink-artifacts/core';

/** What the init container fetches and what Flink is told afterwards. */
export interface ArtifactWiring {
  readonly location: ClusterLocation;
  /**
   * Arguments after `flink-artifacts fetch` for the init container: the remote job URI, then
   * Flink options, sorted. Never a secret.
   */
  readonly fetchArgs: string[];
  /** True when something remote must be fetched (otherwise no init container is needed). */
  readonly fetchesAnything: boolean;
  /** The job URI Flink gets: the fetched `local://` path, or the original when already local. */
  readonly jobUri: string | null;
  /** `user.artifacts.artifact-list` as Flink gets it. */
  readonly artifactList: string[];
  /** Things the user should know (options not copied into the pod, and why). */
  readonly warnings: string[];
}

// S3 options that configure where and how, not who: safe to pass as arguments.
const S3_PUBLIC_KEYS = [...S3_KEYS.endpoint, ...S3_KEYS.pathStyleAccess, ...S3_KEYS.region];

/**
 * Decides the init container's fetch and rewrites every remote artifact to the `local://` path
 * it will have under `<base-dir>/<namespace>/<cluster-id>/`, so Flink's own fetcher finds it
 * in place. `local://` artifacts are in the Flink image already and stay as they are.
 *
 * @throws ConfigError and the URI errors, NameClashError: the same checks the fetcher makes.
 */
export function planWiring(config: FlinkConfig, jobUri?: string): ArtifactWiring {
  const location = readClusterLocation(config, '/');
  const jobText = readJobUri(config, jobUri);
  const job = jobText === undefined ? undefined : parseArtifactUri(jobText);
  const listed = readArtifactList(config).map((raw) => parseArtifactUri(raw));
  const remote = (uri: ArtifactUri): boolean => uri.location.scheme !== 'local';
  assertNoNameClash([...(job ? [job] : []), ...listed].filter(remote));

  const localPath = (uri: ArtifactUri): string => (remote(uri) ? `local://${location.clusterDir}/${encodeURIComponent(uri.fileName)}` : uri.raw);
  const remoteList = listed.filter(remote).filter((uri) => uri.raw !== job?.raw);

  const options = new Map<string, string>([
    [FlinkKeys.clusterId, location.clusterId],
    [FlinkKeys.namespace, location.namespace],
    [FlinkKeys.baseDir, location.baseDir],
  ]);
  if (remoteList.length > 0) options.set(FlinkKeys.artifactList, formatFlinkList(remoteList.map((uri) => uri.raw)));
  if (parseFlinkBoolean(config.get(FlinkKeys.rawHttpEnabled), FlinkKeys.rawHttpEnabled, false)) options.set(FlinkKeys.rawHttpEnabled, 'true');
  for (const key of S3_PUBLIC_KEYS) {
    const value = readString(config, key);
    if (value !== undefined) options.set(key, value);
  }
  const fetchArgs = [
    ...(job !== undefined && remote(job) ? [job.raw] : []),
    ...[...options.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => `-D${key}=${value}`),
  ];

  const warnings: string[] = [];
  const literalSecrets = SECRET_KEYS.filter((key) => readString(config, key) !== undefined);
  if (literalSecrets.length > 0) {
    warnings.push(
      `${literalSecrets.join(', ')} ${literalSecrets.length === 1 ? 'is' : 'are'} not copied into the pod: secrets come from Secrets. ` +
        'Use kubernetes.env.secretKeyRef, e.g. env:AWS_SECRET_ACCESS_KEY,secret:<name>,key:<key> for S3 or env:FLINK_ARTIFACTS_HTTP_HEADERS,secret:<name>,key:<key> for HTTP headers.',
    );
  }
  return {
    location,
    fetchArgs,
    fetchesAnything: (job !== undefined && remote(job)) || remoteList.length > 0,
    jobUri: job === undefined ? null : localPath(job),
    artifactList: listed.map(localPath),
    warnings,
  };
}
