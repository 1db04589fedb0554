/**
 * Deploy-time options in Flink's style, under our own prefix, so that they can live in Flink's
 * config file beside the rest. They shape the rendered manifests and never reach the fetcher.
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
