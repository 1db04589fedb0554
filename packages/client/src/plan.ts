import {
  FlinkKeys,
  assertNoNameClash,
  destinationIn,
  parseArtifactUri,
  parseFlinkBoolean,
  parseUploadTarget,
  readArtifactList,
  readJobUri,
  type ArtifactUri,
  type FlinkConfig,
  type UploadDestination,
  type UploadTarget,
} from '@flink-artifacts/core';

/** One artifact of an upload plan. */
export type PlannedUpload =
  | {
      readonly role: 'job' | 'artifact';
      readonly action: 'upload';
      readonly uri: ArtifactUri;
      /** The local file to upload. */
      readonly sourcePath: string;
      readonly destination: UploadDestination;
      /** The URI that replaces `uri` in the rewritten options. */
      readonly rewritten: string;
    }
  | {
      readonly role: 'job' | 'artifact';
      readonly action: 'pass';
      readonly uri: ArtifactUri;
      readonly rewritten: string;
    };

/** What an upload will do, decided before any byte moves. */
export interface UploadPlan {
  /** Undefined when nothing is local (the target is then not needed). */
  readonly target: UploadTarget | undefined;
  readonly overwrite: boolean;
  readonly job: PlannedUpload | undefined;
  readonly artifacts: readonly PlannedUpload[];
}

/**
 * Decides, for the job jar and every `user.artifacts.artifact-list` entry, whether it is
 * uploaded (`local://` and plain absolute paths, as Flink's uploader) or passed through
 * unchanged, and where uploads go. Validates all URIs and the target first.
 *
 * @throws ConfigError (missing or bad target, bad overwrite flag), the URI errors of
 *   parseArtifactUri, NameClashError when two artifacts would share a file name in the pod.
 */
export function planUpload(config: FlinkConfig, jobUri?: string): UploadPlan {
  const jobText = readJobUri(config, jobUri);
  const listed = readArtifactList(config);
  const overwrite = parseFlinkBoolean(config.get(FlinkKeys.localUploadOverwrite), FlinkKeys.localUploadOverwrite, false);
  const parsed = [...(jobText === undefined ? [] : [{ role: 'job' as const, uri: parseArtifactUri(jobText) }]), ...listed.map((raw) => ({ role: 'artifact' as const, uri: parseArtifactUri(raw) }))];

  const anyLocal = parsed.some(({ uri }) => uri.location.scheme === 'local');
  const target = anyLocal ? parseUploadTarget(config.get(FlinkKeys.localUploadTarget)) : undefined;

  const planned: PlannedUpload[] = parsed.map(({ role, uri }) => {
    if (uri.location.scheme !== 'local' || target === undefined) return { role, action: 'pass', uri, rewritten: uri.raw };
    const destination = destinationIn(target, uri.fileName);
    const rewritten = uri.sha256 === undefined ? destination.uri : `${destination.uri}#sha256=${uri.sha256}`;
    return { role, action: 'upload', uri, sourcePath: uri.location.path, destination, rewritten };
  });

  // After the upload every entry is fetched into one directory: names must not collide there.
  assertNoNameClash(planned.map((item) => item.uri));

  const job = jobText === undefined ? undefined : planned[0];
  return { target, overwrite, job, artifacts: job === undefined ? planned : planned.slice(1) };
}
