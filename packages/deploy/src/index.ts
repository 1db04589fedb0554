export { planWiring, type ArtifactWiring } from './wiring.ts';
export {
  DEFAULT_FETCHER_IMAGE,
  DEFAULT_FETCHER_RESOURCES,
  DEFAULT_INIT_CONTAINER,
  DEFAULT_VOLUME,
  MAIN_CONTAINER,
  checkTemplate,
  renderPodTemplate,
  wireFetcher,
  type PodLike,
  type PodTemplateSource,
  type Rendered,
  type RenderPodTemplateOptions,
  type WiringOptions,
} from './pod-template.ts';
export { renderDeployment, type RenderDeploymentOptions } from './deployment.ts';
export { renderFlinkDeployment, type FlinkDeployment, type RenderFlinkDeploymentOptions } from './flink-deployment.ts';
export { DEFAULT_FLINK_IMAGE } from './flink-options.ts';
export { readSecretEnv, readSecretMounts, type SecretEnv, type SecretMount } from './flink-secrets.ts';
export { FORMATS, renderManifest, type ManifestFormat, type RenderOptions } from './render.ts';
