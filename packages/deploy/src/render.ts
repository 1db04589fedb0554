import { renderDeployment, type RenderDeploymentOptions } from './deployment.ts';
import { renderFlinkDeployment, type RenderFlinkDeploymentOptions } from './flink-deployment.ts';
import { renderPodTemplate, type Rendered } from './pod-template.ts';

/** The manifests `render` produces. */
export const FORMATS = ['pod-template', 'deployment', 'flinkdeployment'] as const;
export type ManifestFormat = (typeof FORMATS)[number];

/** Options of every format (each uses what applies to it). */
export type RenderOptions = RenderFlinkDeploymentOptions & RenderDeploymentOptions;

/** Renders one format. */
export function renderManifest(format: ManifestFormat, options: RenderOptions): Rendered<object> {
  switch (format) {
    case 'pod-template':
      return renderPodTemplate(options);
    case 'deployment':
      return renderDeployment(options);
    case 'flinkdeployment':
      return renderFlinkDeployment(options);
  }
}
