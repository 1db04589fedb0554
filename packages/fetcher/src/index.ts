export {
  DEFAULT_CONCURRENCY,
  FetchFailedError,
  fetchArtifacts,
  type ArtifactResult,
  type ArtifactStatus,
  type FetchEvent,
  type FetchOptions,
  type FetchReport,
} from './fetch.ts';
export { planFetch, plannedArtifacts, type ArtifactRole, type FetchPlan, type PlanFetchOptions, type PlannedArtifact } from '@flink-artifacts/core';
