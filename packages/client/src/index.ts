export {
  DEFAULT_UPLOAD_CONCURRENCY,
  UploadFailedError,
  uploadArtifacts,
  type UploadEvent,
  type UploadItemResult,
  type UploadOptions,
  type UploadReport,
  type UploadStatus,
} from './upload.ts';
export { planUpload, type PlannedUpload, type UploadPlan } from './plan.ts';
export { RemoteCheckFailedError, checkRemoteArtifacts, type CheckProblem, type CheckRemoteOptions } from './check.ts';
