import { FlinkKeys, SECRET_KEYS, readString, type FlinkConfig } from '@flink-artifacts/core';
import type { ArtifactWiring } from './wiring.ts';

/** Flink's image when the options name none. */
export const DEFAULT_FLINK_IMAGE = 'flink:1.20';

/** `kubernetes.container.image.ref` (or its older name), else {@link DEFAULT_FLINK_IMAGE}. */
export function flinkImage(config: FlinkConfig): string {
  return readString(config, 'kubernetes.container.image.ref') ?? readString(config, 'kubernetes.container.image') ?? DEFAULT_FLINK_IMAGE;
}

/**
 * The Flink options a JobManager outside `bin/flink` needs, as the fetcher wired them: the
 * user's options minus secrets (they come from Secrets) and minus `excluded`, with the artifact
 * list rewritten to the fetched paths. Sorted by key, so the output is stable.
 */
export function flinkOptionsFor(config: FlinkConfig, wiring: ArtifactWiring, excluded: readonly string[]): [string, string][] {
  const drop = new Set([...SECRET_KEYS, ...excluded]);
  const options = new Map<string, string>();
  for (const [key, value] of config) {
    if (drop.has(key) || key.startsWith('kubernetes.pod-template-file.')) continue;
    options.set(key, value);
  }
  options.set(FlinkKeys.baseDir, wiring.location.baseDir);
  if (!drop.has(FlinkKeys.clusterId)) options.set(FlinkKeys.clusterId, wiring.location.clusterId);
  if (!drop.has(FlinkKeys.namespace)) options.set(FlinkKeys.namespace, wiring.location.namespace);
  if (wiring.artifactList.length > 0) options.set(FlinkKeys.artifactList, wiring.artifactList.join(';'));
  else options.delete(FlinkKeys.artifactList);
  // The fetcher did the upload's work; Flink must not try to upload the rewritten paths again.
  options.delete(FlinkKeys.localUploadEnabled);
  options.delete(FlinkKeys.pipelineJars);
  return [...options.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
