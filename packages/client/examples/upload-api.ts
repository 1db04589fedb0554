import { uploadArtifacts, UploadFailedError } from '@flink-artifacts/client';
import { resolveFlinkConfig } from '@flink-artifacts/core';

// Flink's own options: -D entries, over Flink's config file when a conf dir is given.
const { config } = await resolveFlinkConfig({
  dynamicProperties: [
    'kubernetes.artifacts.local-upload-target=s3://my-bucket/flink/',
    'user.artifacts.artifact-list=local:///tmp/my-udf.jar;s3://my-bucket/shared/lib.jar',
  ],
});

try {
  const report = await uploadArtifacts({ config, jobUri: 'local:///tmp/my-flink-job.jar', concurrency: 8 });
  console.log(report.jobUri); // s3://my-bucket/flink/my-flink-job.jar
  console.log(report.artifactList); // [ 's3://my-bucket/flink/my-udf.jar', 's3://my-bucket/shared/lib.jar' ]
  console.log(report.uploaded, report.skipped, report.bytes); // counts; report.items says which, with each status
} catch (error) {
  if (error instanceof UploadFailedError) {
    for (const item of error.report.items) if (item.error) console.error(item.error.code, item.error.message);
  }
  throw error;
}
