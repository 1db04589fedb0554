import { AzureKeys } from './cloud-settings.ts';
import type { FlinkConfig } from './config.ts';
import { FlinkKeys } from './options.ts';
import { RangeKeys } from './range-policy.ts';
import { TransferKeys } from './retry.ts';
import { SourceKeys } from './source-policy.ts';
import { closestMatch } from './suggest.ts';

/**
 * Deploy-time options in Flink's style, under our own prefix, so that they can live in Flink's
 * config file beside the rest. They shape the rendered manifests and never reach the fetcher.
 * Named here, with every other key, so that any command can tell a known key from a typo.
 */
export const FetcherKeys = {
  prefix: 'flink-artifacts.fetcher.',
  /** The init container's image, e.g. `registry.example.com/flink-artifacts-fetcher:0.1.0`. */
  image: 'flink-artifacts.fetcher.image',
  /** `<configmap>:<key>` holding a PEM CA bundle the fetcher trusts. */
  caConfigMap: 'flink-artifacts.fetcher.tls.ca-config-map',
  /** `<secret>:<key>` holding a PEM CA bundle the fetcher trusts. */
  caSecret: 'flink-artifacts.fetcher.tls.ca-secret',
} as const;

/** The `user.artifacts.*` and `kubernetes.artifacts.*` keys Flink defines (ArtifactFetchOptions, KubernetesConfigOptions). */
const FLINK_ARTIFACT_KEYS: readonly string[] = [
  FlinkKeys.baseDir,
  FlinkKeys.artifactList,
  FlinkKeys.rawHttpEnabled,
  FlinkKeys.httpHeaders,
  FlinkKeys.localUploadEnabled,
  FlinkKeys.localUploadTarget,
  FlinkKeys.localUploadOverwrite,
];

/** Every key of our own namespace. */
const OWN_KEYS: readonly string[] = [
  ...Object.values(TransferKeys),
  ...Object.values(SourceKeys),
  ...Object.values(AzureKeys),
  ...Object.values(RangeKeys),
  FetcherKeys.image,
  FetcherKeys.caConfigMap,
  FetcherKeys.caSecret,
];

/** The namespaces whose every key we know: a key in them that is not known is a misspelling. */
const CHECKED_PREFIXES = ['flink-artifacts.', 'user.artifacts.', 'kubernetes.artifacts.'] as const;

/**
 * Warnings for keys in our `flink-artifacts.*` namespace, or Flink's `user.artifacts.*` and
 * `kubernetes.artifacts.*`, that nothing defines: ignored silently otherwise, a misspelled key
 * means a setting the user believes in and does not have. Each names the nearest known key.
 */
export function unknownKeyWarnings(config: FlinkConfig): string[] {
  const known = new Set([...FLINK_ARTIFACT_KEYS, ...OWN_KEYS]);
  const warnings: string[] = [];
  for (const key of config.keys()) {
    if (known.has(key) || !CHECKED_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
    const nearest = closestMatch(key, known);
    const owner = key.startsWith('flink-artifacts.') ? 'flink-artifacts' : 'Flink';
    warnings.push(`${key} is not an option ${owner} defines; it is ignored${nearest === undefined ? '' : ` (did you mean ${nearest}?)`}`);
  }
  return warnings;
}
