import { FlinkKeys, formatFlinkList, type FlinkConfig } from '@flink-artifacts/core';
import { FetcherKeys } from './keys.ts';
import type { ArtifactWiring } from './wiring.ts';

/**
 * The Flink options a JobManager outside `bin/flink` needs, as the fetcher wired them: the
 * user's configuration as given (credentials included: Flink's own filesystems read them, and
 * `bin/flink` would ship them too), minus `excluded` and our deploy-time keys, with the
 * artifact list rewritten to the fetched paths and `overrides` on top. Sorted by key, so the
 * output is stable.
 */
export function flinkOptionsFor(config: FlinkConfig, wiring: ArtifactWiring, excluded: readonly string[], overrides: Readonly<Record<string, string>> = {}): [string, string][] {
  const drop = new Set(excluded);
  const options = new Map<string, string>();
  for (const [key, value] of config) {
    if (drop.has(key) || key.startsWith('kubernetes.pod-template-file.') || key.startsWith(FetcherKeys.prefix)) continue;
    options.set(key, value);
  }
  options.set(FlinkKeys.baseDir, wiring.location.baseDir);
  if (!drop.has(FlinkKeys.clusterId)) options.set(FlinkKeys.clusterId, wiring.location.clusterId);
  if (!drop.has(FlinkKeys.namespace)) options.set(FlinkKeys.namespace, wiring.location.namespace);
  if (wiring.artifactList.length > 0) options.set(FlinkKeys.artifactList, formatFlinkList(wiring.artifactList));
  else options.delete(FlinkKeys.artifactList);
  // The fetcher did the upload's work; Flink must not try to upload the rewritten paths again.
  options.delete(FlinkKeys.localUploadEnabled);
  options.delete(FlinkKeys.pipelineJars);
  for (const [key, value] of Object.entries(overrides)) options.set(key, value);
  return [...options.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
