export { planWiring, FETCHER_CA_DIR, type ArtifactWiring, type FetcherCa } from './wiring.ts';
export {
  CA_VOLUME,
  DEFAULT_FETCHER_RESOURCES,
  DEFAULT_INIT_CONTAINER,
  DEFAULT_VOLUME,
  MAIN_CONTAINER,
  checkTemplate,
  renderPodTemplate,
  wireFetcher,
  type PodLike,
  type PodTemplates,
  type PodTemplateSource,
  type Rendered,
  type RenderPodTemplateOptions,
  type WiringOptions,
} from './pod-template.ts';
export { JOBMANAGER_KINDS, parseJobManagerKind, renderDeployment, type JobManagerKind, type RenderDeploymentOptions } from './deployment.ts';
export { MERGE_ARRAYS_BY_NAME, renderFlinkDeployment, type FlinkDeployment, type FlinkDeploymentJob, type RenderFlinkDeploymentOptions } from './flink-deployment.ts';
export { checkFlinkDeploymentStrict } from './flink-deployment-schema.ts';
export { UPGRADE_MODES, highAvailabilityEnabled, resolveJob, type JobOptions, type ResolvedJob, type UpgradeMode } from './job-options.ts';
export { FetcherKeys } from './keys.ts';
export { mergePodTemplates } from './operator-merge.ts';
export { checkDeploymentStrict, checkJobStrict, checkPodStrict } from './validate.ts';
export { readSecretEnv, readSecretMounts, type SecretEnv, type SecretMount } from './flink-secrets.ts';
export { FORMATS, renderManifest, type ManifestFormat, type RenderOptions } from './render.ts';
