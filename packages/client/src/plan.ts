import {
  FlinkKeys,
  artifactEntries,
  artifactIdentity,
  assertNoNameClash,
  destinationIn,
  parseFlinkBoolean,
  parseUploadTarget,
  readArtifactSet,
  type ArtifactEntry,
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
  /** The distinct list entries (an entry identical to the job or an earlier one is transferred once). */
  readonly artifacts: readonly PlannedUpload[];
  /** `user.artifacts.artifact-list` rewritten, entry for entry, in order. */
  readonly artifactList: readonly string[];
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
  const set = readArtifactSet(config, jobUri);
  const overwrite = parseFlinkBoolean(config.get(FlinkKeys.localUploadOverwrite), FlinkKeys.localUploadOverwrite, false);
  const entries = artifactEntries(set);
  const anyLocal = entries.some(({ uri }) => uri.location.scheme === 'local');
  const target = anyLocal ? parseUploadTarget(config.get(FlinkKeys.localUploadTarget)) : undefined;

  const plan = ({ role, uri }: ArtifactEntry): PlannedUpload => {
    if (uri.location.scheme !== 'local' || target === undefined) return { role, action: 'pass', uri, rewritten: uri.raw };
    const destination = destinationIn(target, uri.fileName);
    const rewritten = uri.sha256 === undefined ? destination.uri : `${destination.uri}#sha256=${uri.sha256}`;
    return { role, action: 'upload', uri, sourcePath: uri.location.path, destination, rewritten };
  };
  const job = set.job === undefined ? undefined : plan(set.job);
  const artifacts = set.artifacts.map(plan);
  // After the upload every entry is fetched into one directory: names must not collide there.
  assertNoNameClash(artifactEntries({ job, artifacts }).map((item) => item.uri));
  const rewritten = new Map(artifactEntries({ job, artifacts }).map((item) => [artifactIdentity(item.uri), item.rewritten]));
  return { target, overwrite, job, artifacts, artifactList: set.listed.map((uri) => rewritten.get(artifactIdentity(uri))!) };
}
